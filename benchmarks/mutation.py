"""Mutation testing: change one small thing in a module, run the tests that hold its promises,
and list the changes (mutants) no test noticed (survivors).

    python benchmarks/mutation.py tasks/rewards.py tasks/stopping.py [--max 40] [--json FILE]

Each module is mutated in a scratch copy of the working tree (this tree is never written), one
mutant at a time: a comparison turned (< <=, == !=, in / not in, is / is not), an arithmetic or
boolean operator swapped (+ -, * /, and or), a `not` dropped, a number moved by one, True and
False swapped, a `return X` made `return None`, a call statement removed. The module's tests
(MODULES below) run with `pytest -x`; a mutant is killed when they fail or time out. Without
arguments every module in MODULES is mutated (slow: run it on an idle machine). A small
self-written mutator: mutmut and cosmic-ray both rewrite the tree in place or need a session
database; this needs nothing beyond the standard library and the project's pytest.
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> the tests that hold its promises (pytest arguments)
MODULES = {
    "tasks/h5io.py": ["tests/test_dataset.py", "tests/test_files.py", "tests/test_faults.py", "-k",
                      "not sigint and not sigterm and not interrupted"],
    "tasks/evaluate.py": ["tests/test_files.py", "tests/test_faults.py", "tests/test_evaluate_resume.py", "-k",
                          "evaluat or eval or format"],
    "tasks/starts.py": ["tests/test_starts.py", "tests/test_reference.py", "-k",
                        "start or resting or demonstrator_unstacks or towers or seed"],
    "tasks/stopping.py": ["tests/test_stopping.py",
                          "tests/test_faults.py::test_interrupted_evaluation_keeps_the_finished_run_and_continues",
                          "tests/test_faults.py::test_sigint_ignored_by_a_background_job_stays_ignored_and_sigterm_saves"],
    "planner/guides.py": ["tests/test_guides.py", "tests/test_clearance.py", "tests/test_mover.py", "tests/test_planner.py",
                          "tests/test_classifier.py", "tests/test_reference.py", "-k",
                          "guide or floor_candidates or clearance or tool_at"],
    "tasks/rewards.py": ["tests/test_rewards.py", "tests/test_execute.py", "tests/test_reference.py", "-k",
                         "not diffuser and not demonstrator and not start_options"],
}

SWAPS = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.And: ast.Or, ast.Or: ast.And,
}


@dataclass
class Mutant:
    module: str
    index: int
    line: int
    change: str
    outcome: str = ""  # killed, survived, timeout
    seconds: float = 0.0


class Mutator(ast.NodeTransformer):
    """Walks a module in a fixed order; counts mutation sites and changes the `target`-th one."""

    def __init__(self, target: int = -1) -> None:
        self.target, self.count, self.found = target, 0, []

    def _site(self, node: ast.AST, change: str) -> bool:
        here = self.count
        self.count += 1
        self.found.append((getattr(node, "lineno", 0), change))
        return here == self.target

    def visit_FunctionDef(self, node):  # annotations and docstrings are no behaviour
        node.body = [self.visit(s) for s in node.body]
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]  # a changed default replaces the node
        node.args.kw_defaults = [None if d is None else self.visit(d) for d in node.args.kw_defaults]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node):
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_ImportFrom(self, node):
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            if type(op) in SWAPS and self._site(node, f"{type(op).__name__} -> {SWAPS[type(op)].__name__}"):
                node.ops[i] = SWAPS[type(op)]()
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if type(node.op) in SWAPS and self._site(node, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}"):
            node.op = SWAPS[type(node.op)]()
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if self._site(node, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}"):
            node.op = SWAPS[type(node.op)]()
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._site(node, "drop not"):
            return node.operand
        return node

    def visit_Constant(self, node):
        if isinstance(node.value, bool):
            if self._site(node, f"{node.value} -> {not node.value}"):
                return ast.copy_location(ast.Constant(not node.value), node)
        elif isinstance(node.value, (int, float)) and self._site(node, f"{node.value!r} -> {node.value + 1!r}"):
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node

    def visit_Return(self, node):
        self.generic_visit(node)
        if node.value is not None and not _is_none(node.value) and self._site(node, "return None"):
            node.value = ast.Constant(None)
        return node

    def visit_Expr(self, node):
        if _docstring(node):
            return node
        self.generic_visit(node)
        if isinstance(node.value, ast.Call) and self._site(node, f"remove {ast.unparse(node.value)[:60]}"):
            return ast.Pass()
        return node


def _docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def mutants_of(source: str) -> list[tuple[int, str]]:
    m = Mutator()
    m.visit(ast.parse(source))
    return m.found


def mutated(source: str, index: int) -> str:
    tree = Mutator(index).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def scratch_copy() -> Path:
    """The working tree's files (tracked and new, not ignored) in a temporary folder."""
    dest = Path(tempfile.mkdtemp(prefix="mutation-"))
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def run_tests(tree: Path, args: list[str], timeout: float) -> tuple[str, float]:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *args]
    try:
        r = subprocess.run(cmd, cwd=tree, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0
    # 0: all passed; 5: no test collected (a mistake in MODULES, not a survivor)
    if r.returncode == 5:
        raise SystemExit(f"no tests selected by {args}")
    return ("survived" if r.returncode == 0 else "killed"), time.perf_counter() - t0


def mutate_module(tree: Path, module: str, limit: int | None, seed: int) -> list[Mutant]:
    path = tree / module
    original = path.read_text()
    sites = mutants_of(original)
    chosen = list(range(len(sites)))
    if limit is not None and limit < len(chosen):
        chosen = sorted(random.Random(seed).sample(chosen, limit))
    status, base = run_tests(tree, MODULES[module], timeout=1800)
    if status != "survived":  # a timing test can fail once on a loaded machine: once more
        status, base = run_tests(tree, MODULES[module], timeout=1800)
    if status != "survived":
        raise SystemExit(f"{module}: its tests fail before any mutation ({status})")
    print(f"{module}: {len(sites)} mutants, testing {len(chosen)}; unmutated tests take {base:.1f} s", flush=True)
    out = []
    try:
        for i in chosen:
            line, change = sites[i]
            path.write_text(mutated(original, i))
            outcome, seconds = run_tests(tree, MODULES[module], timeout=3 * base + 30)
            out.append(Mutant(module, i, line, change, outcome, round(seconds, 1)))
            if outcome == "survived":
                print(f"  survived  line {line}: {change}", flush=True)
    finally:
        path.write_text(original)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", metavar="MODULE", help=f"modules to mutate, of {', '.join(MODULES)} (default: all)")
    p.add_argument("--max", type=int, default=None, help="mutants per module at most (a seeded sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    p.add_argument("--tests", help="pytest arguments to run instead of the module's own (e.g. to compare with an "
                                   "older set of tests), as one string")
    args = p.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        p.error(f"no tests are listed for {', '.join(unknown)}; add them to MODULES")
    tree = scratch_copy()
    results: list[Mutant] = []
    try:
        for module in args.modules or list(MODULES):
            if args.tests:
                MODULES[module] = args.tests.split()
            results += mutate_module(tree, module, args.max, args.seed)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print(f"\n{'module':<22}{'mutants':>8}{'killed':>8}{'timeout':>8}{'survived':>9}  score")
    for module in dict.fromkeys(m.module for m in results):
        ms = [m for m in results if m.module == module]
        n = {k: sum(m.outcome == k for m in ms) for k in ("killed", "timeout", "survived")}
        print(f"{module:<22}{len(ms):>8}{n['killed']:>8}{n['timeout']:>8}{n['survived']:>9}  "
              f"{100 * (len(ms) - n['survived']) / len(ms):.0f} %")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
