"""The documents say what the program does, where a program can tell: the README's commands and
options exist, its Layout names every file and module, docs/formats.md names every attribute the
writers put in a file, and the shipped files are what the documents say they are."""
import argparse
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FORMATS = (ROOT / "docs" / "formats.md").read_text()


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def units(text: str) -> list[str]:
    """A table row, a code block's line or a paragraph: what one command's options are read in."""
    out, para, in_code = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif in_code or line.startswith("|"):
            out.append(line)
            continue
        if not line.strip() or line.startswith("```"):
            out.append(" ".join(para))
            para = []
        else:
            para.append(line)
    return [u for u in out + [" ".join(para)] if u.strip()]


COMMAND = re.compile(r"main\.py ([a-z][a-z-]*)")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def test_every_subcommand_and_option_the_readme_names_is_in_help():
    subs = subcommands()
    every = set().union(*map(options, subs.values())) | {"--help"}
    problems = []
    for unit in units(README):
        named = COMMAND.findall(unit)
        problems += [f"no subcommand {s!r}: {unit[:80]}" for s in named if s not in subs]
        current = None  # the command (or a script) the last command line in this unit named
        for piece in unit.split("`")[1::2] if "`" in unit else [unit]:  # code spans, or a code block's line
            run = COMMAND.search(piece)
            if run and run.group(1) in subs:  # a command line: its options are that command's
                current = run.group(1)
                found, pool = OPTION.findall(piece[run.end():]), options(subs[current])
            elif re.search(r"scripts/|benchmarks/|torchrun", piece):
                current = "script"
                continue
            elif piece.lstrip().startswith("--") and current != "script":  # an option of the last command named
                found = OPTION.findall(piece)
                pool = options(subs[current]) if current else set().union(*(options(subs[s]) for s in named
                                                                            if s in subs)) or every
            else:
                continue
            problems += [f"{o} ({current or 'in: ' + unit[:60]})" for o in found if o not in pool]
    assert not problems, problems
    named = set(COMMAND.findall(README))
    assert set(subs) <= named, f"commands the README never shows: {set(subs) - named}"


def layout() -> dict[str, str]:
    """The Layout section's entries: first column -> its description."""
    block = section(README, "Layout").split("```")[1]
    entries: dict[str, str] = {}
    for line in block.strip().splitlines():
        if line[:1].strip():
            name, _, rest = line.partition(" ")
            entries[name] = rest
        else:
            entries[name] += " " + line.strip()
    return entries


def test_the_layout_names_files_that_exist_and_every_module():
    entries = layout()
    assert all((ROOT / name).exists() for name in entries), [n for n in entries if not (ROOT / n).exists()]
    top = {p.name for p in ROOT.glob("*.py")}
    assert top <= set(entries), f"top-level modules not in the Layout: {top - set(entries)}"
    named = " ".join(text for name, text in entries.items() if name == "main.py" or name.endswith("_commands.py"))
    assert set(subcommands()) <= set(re.findall(r"[a-z-]+", named)), "the commands' modules name every command"
    missing = []
    for folder in ("app/", "tasks/", "planner/"):
        words = set(re.findall(r"[\w.]+/?", entries[folder]))
        for path in sorted((ROOT / folder).iterdir()):
            if path.name.startswith(("_", ".")) or path.suffix not in (".py", ".pddl", "") or path.name == "__pycache__":
                continue
            name = path.stem if path.suffix == ".py" else path.name + ("/" if path.is_dir() else "")
            if name not in words:
                missing.append(f"{folder}{path.name}")
        for word in words:  # a file named there exists
            if word.endswith((".pddl", "/")) and not (ROOT / folder / word).exists():
                missing.append(f"{folder}{word} (named, not there)")
    assert not missing, missing


def names_in(f: h5py.File) -> set[str]:
    """Every attribute, dataset and group name in the file (record names like demo_3 as demo_<i>)."""
    found = set(f.attrs)

    def visit(name, obj):
        found.add(name.rsplit("/", 1)[-1])
        found.update(obj.attrs)

    f.visititems(visit)
    return {n for n in found if not re.fullmatch(r"demo_\d+|plan_\d+|\d+|scene", n)}


def documented(name: str) -> bool:
    """`name` is written as code in docs/formats.md: in a `span` or a layout block."""
    blocks = FORMATS.split("```")
    code = blocks[1::2] + re.findall(r"`([^`]+)`", "".join(blocks[0::2]))
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", c) for c in code)


def test_formats_md_names_every_attribute_the_writers_put_in_a_file(tmp_path):
    from tasks.dataset import Demo, append_demo
    from tasks.evaluate import evaluate
    from tasks.goals import parse_goal
    from tasks.plans import Plan, append_plan, save_scene
    from tasks.world import initial_state

    state = initial_state(0, 2)
    states = np.repeat(state[None], 3, 0)
    goal = parse_goal("red at 0.55,0.20; green on red")
    append_demo(tmp_path / "d.h5", Demo(states, goal, "arrangement", 1, 0, 0, True, 0.1, "diffuser plan_00001", True),
                "demonstrator-1")
    append_plan(tmp_path / "p.h5", Plan(states, goal, "diffuser", {"steps": 10}, 0.5, 3, 100.0, True, start="scene 0",
                                        parent="plan_00000", denoising=np.zeros((1, 2, 3, len(state)))))
    save_scene(tmp_path / "p.h5", "scene", state)

    class Still:
        name, settings = "still", {}

        def plan(self, start, goal, seed):
            return Plan(np.repeat(start[None], 2, 0), goal, self.name)

    results = evaluate(Still(), "conditional", 1, 0, tmp_path / "eval", n_blocks=2)
    names = set(results)
    for path in (tmp_path / "d.h5", tmp_path / "p.h5", tmp_path / "eval" / "episodes.h5"):
        with h5py.File(path) as f:
            names |= names_in(f)
    with h5py.File(tmp_path / "d.h5") as f:
        names |= set(json.loads(f["data"].attrs["env_args"]))
    assert {"goal_given", "source", "denoising", "scenes", "next_id", "towers"} <= names  # the writers did write them
    missing = sorted(n for n in names if not documented(n))
    assert not missing, f"not in docs/formats.md: {missing}"


def test_formats_md_shows_the_reference_goal_as_json():
    from tasks.goals import parse_goal

    text = parse_goal("red at 0.55,0.2,30deg; green on red").to_json()
    shown = re.findall(r"`(\{\"on\".*?\})`", FORMATS.replace("\n", " "))
    assert any(json.loads(s) == json.loads(text) for s in shown), text


def test_every_option_help_shows_its_default_and_range():
    problems = []
    for name, parser in subcommands().items():
        for a in parser._actions:
            if not a.option_strings or a.nargs == 0:  # positionals, flags (off unless given), --help
                continue
            text = a.help or ""
            if "default" not in text and "required" not in text:
                problems.append(f"{name} {a.option_strings[0]}: no default")
            rng = getattr(a.type, "range", None)
            if rng and rng not in text.replace("%%", "%"):
                problems.append(f"{name} {a.option_strings[0]}: no range ({rng})")
    assert not problems, problems


def test_plan_out_default_is_ignored_by_git():
    out = next(a for a in subcommands()["plan"]._actions if "--out" in a.option_strings).default
    ignored = (ROOT / ".gitignore").read_text().split()
    assert out in ignored or f"/{out}" in ignored


def shipped_mover() -> dict:
    import torch

    return torch.load(ROOT / "assets" / "move_diffuser.pt", weights_only=True, map_location=None)


def test_the_shipped_move_model_loads_on_a_cpu_and_names_documented_data():
    import torch

    ckpt = shipped_mover()
    tensors = [t for t in ckpt["ema"].values() if isinstance(t, torch.Tensor)]
    assert tensors and all(t.device.type == "cpu" for t in tensors)
    figures = (ROOT / "docs" / "figures.md").read_text()
    assert ckpt["command"].startswith("python main.py train-mover ")
    for path in ckpt["train_config"]["data"]:  # data/nN_task.h5 as figures.md writes them, or the sample
        pattern = re.sub(r"n\d_", "nN_", path)
        assert path in figures or pattern in figures, path


def test_the_documents_give_the_shipped_move_model_its_own_steps():
    ckpt = shipped_mover()
    steps, grown_from = f"{ckpt['step']:,}", f"{ckpt['origin']['step']:,}"
    design = (ROOT / "docs" / "design.md").read_text()
    assert len(re.findall(r"^\W*The shipped `assets/move_diffuser.pt`", design, re.M)) == 1
    paragraph = design[design.index("The shipped `assets/move_diffuser.pt`"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    history = section(README, "Open problems")
    history = history[history.index("reproduction command"):]
    for text in (paragraph, history[:history.index("\n- ")]):
        assert steps in text and grown_from in text, text


SAMPLE = ROOT / "assets" / "sample_demos.h5"


def test_the_sample_dataset_is_what_the_readme_says():
    from tasks.goals import TASKS

    claim = re.search(r"`assets/sample_demos.h5` is a small sample \(([^)]*)\)", README)
    assert claim, "the README describes the sample"
    per_task = int(re.search(r"(\d+) demos of each task", claim.group(1)).group(1))
    seed = int(re.search(r"seed (\d+)", claim.group(1)).group(1))
    assert SAMPLE.stat().st_size < 20e6
    with h5py.File(SAMPLE) as f:
        assert f.attrs["format"] == "kuka-demonstrations-1"
        demos = [f["data"][k].attrs for k in f["data"]]
        assert all(int(a["collection_seed"]) == seed for a in demos)
        tasks = [str(a["task"]) for a in demos]
    assert {t: tasks.count(t) for t in TASKS} == {t: per_task for t in TASKS}


@pytest.mark.parametrize("row, says", [
    ("python main.py train-classifier", "--no-mover"),
])
def test_the_readme_says_the_conditions_of_an_option(row, says):
    line = next(u for u in units(README) if row in u)
    assert says in line


def test_the_headline_figures_say_their_protocol():
    figures = section(README, "Figures")
    table = figures[:figures.index("| rearrangement")]
    assert "--extra-segments 1" in table or "one retry segment" in table  # the protocol's segments
    assert "--paper" in figures  # and what the paper's own setting (the whole-state model) scores


def test_every_picture_and_document_the_readme_links_exists():
    linked = re.findall(r"\]\(((?:docs|assets)/[^)#\s]+)\)", README)
    assert linked, "the README links its pictures"
    assert [p for p in linked if not (ROOT / p).exists()] == []
