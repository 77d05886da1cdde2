"""train-mover's messages say what happened (issue 24, defect 5)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_time_budget_ends_the_bar_at_the_last_step_and_no_nan_loss_is_printed(tmp_path, capsys):
    """In this process (the command's own process and signals: test_faults.py)."""
    import main

    code = main.main(["train-mover", "--data", str(ROOT / "assets" / "sample_demos.h5"), "--out", str(tmp_path / "m.pt"),
                      "--steps", "60000", "--minutes", "0.03", "--device", "cpu", "--snapshots", "2"])
    out = capsys.readouterr()
    assert code == 0, out.err
    text = out.out + out.err
    assert "nan" not in text
    last = re.findall(r"(\d+)/(\d+) \[", text)[-1]
    assert last[0] == last[1] and last[1] != "60000"  # the bar ends full, at the step training ended
    saved = re.findall(r"step (\d+): (loss [\d.]+|loss not sampled yet)", text)
    assert saved and int(saved[-1][0]) == int(last[0])
