import numpy as np
import pytest

from app.render import OrbitCamera, SceneRenderer
from tasks.layout import BLOCK_COLOURS, LAYOUT
from tasks.world import initial_state


def project(camera: OrbitCamera, point, width=640, height=480):
    u, v = camera.project(np.asarray(point), width / height)[0]
    return u, v


@pytest.fixture(scope="module", params=[True, False], ids=["egl", "tiny"])
def renderer(request):
    r = SceneRenderer(use_egl=request.param)
    if request.param and r.backend != "egl":
        r.close()
        pytest.skip("EGL cannot load here (the view falls back to TinyRenderer)")
    assert r.backend == ("egl" if request.param else "tiny")
    yield r
    r.close()


def test_render_shows_blocks_in_their_colours_and_picking_finds_them(renderer):
    state, camera = initial_state(0), OrbitCamera()
    img = renderer.render(state, camera)
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    for name in ("red", "green", "blue"):  # yellow sits behind the robot's base from this side
        u, v = project(camera, state[LAYOUT.block(name).position])
        pixel = img[int(v * 480), int(u * 640)].astype(float)
        colour = np.array(BLOCK_COLOURS[name][:3]) * 255
        assert np.argmax(pixel) == np.argmax(colour), (name, pixel)
        assert renderer.pick(None, camera, u, v, 640 / 480) == name
    assert renderer.pick(None, camera, 0.5, 0.01, 640 / 480) is None  # sky


def test_orbit_zoom_and_pan_move_the_camera_as_expected():
    cam = OrbitCamera()
    assert np.linalg.norm(cam.zoom(0.5).eye() - np.array(cam.target)) == pytest.approx(cam.distance / 2)
    turned = cam.orbit(90, 0)
    assert turned.yaw == pytest.approx((cam.yaw + 90) % 360) and turned.distance == cam.distance
    assert cam.orbit(0, -500).pitch == -89
    moved = cam.pan(0.1, 0.0)
    assert np.linalg.norm(np.array(moved.target) - np.array(cam.target)) > 0
    assert moved.target[2] == pytest.approx(cam.target[2])  # a sideways pan stays level
