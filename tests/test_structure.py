"""The package's structure: imports flow one way, in the order of the README's architecture table.

Every import counts: module-level, inside functions (lazy), and `importlib.import_module` / `find_spec` /
`__import__` calls with a literal module name (a registry by string is an import too)."""
import ast, re, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'artifact_fastai'
NOT_MODULES = {'__init__', '_modidx'}  # the package's face and nbdev's index: no ideas of their own
IMPORT_CALLS = {'import_module', 'find_spec', '__import__'}


def architecture_order(readme: Path = ROOT/'README.md') -> list[str]:
    "Module names in the order of the README's architecture table."
    section = readme.read_text().split('## Architecture', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'^\| `[^`]+` \| `(\w+)` \|', section, flags=re.M)


def package_modules() -> list[str]:
    return sorted(p.stem for p in PKG.glob('*.py') if p.stem not in NOT_MODULES)


def _from_names(n: ast.ImportFrom) -> list[str]:
    "Package modules named by one `from ... import ...` statement."
    if n.level == 1: return [n.module.split('.')[0]] if n.module else [a.name for a in n.names]
    if n.module == 'artifact_fastai': return [a.name for a in n.names]
    if n.module and n.module.startswith('artifact_fastai.'): return [n.module.split('.')[1]]
    return []


def _call_names(n: ast.Call) -> list[str]:
    "Package modules named by a literal argument of `importlib.import_module(...)` and friends."
    func = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, 'id', '')
    if func not in IMPORT_CALLS: return []
    return [a.value.split('.')[1] for a in n.args
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith('artifact_fastai.')]


def package_imports(path: Path) -> set[str]:
    "The package modules that the module at `path` imports anywhere in its code."
    out = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.ImportFrom): out |= set(_from_names(n))
        elif isinstance(n, ast.Import): out |= {a.name.split('.')[1] for a in n.names if a.name.startswith('artifact_fastai.')}
        elif isinstance(n, ast.Call): out |= set(_call_names(n))
    return out & set(package_modules())


def upward_imports(order: list[str]) -> dict[str, list[str]]:
    "For each module, the package modules it imports that are not above it in `order`."
    bad = {}
    for m in order:
        above = set(order[:order.index(m)])
        if wrong := sorted(package_imports(PKG/f'{m}.py') - above): bad[m] = wrong
    return bad


def test_architecture_table_lists_every_module_once():
    order = architecture_order()
    assert len(order) == len(set(order)), f"README architecture table repeats a module: {order}"
    assert sorted(order) == package_modules(), "README architecture table and artifact_fastai/*.py differ"


def test_imports_flow_one_way():
    assert upward_imports(architecture_order()) == {}, \
        "modules import modules listed below them in the README's architecture table (or themselves)"


def test_import_check_sees_lazy_and_importlib_imports(tmp_path, monkeypatch):
    "The checker is not blind: function-level imports, `from artifact_fastai import x` and importlib strings count."
    fake = tmp_path/'artifact_fastai'; fake.mkdir()
    (fake/'low.py').write_text('def f():\n    from artifact_fastai.high import g\n    return g\n')
    (fake/'mid.py').write_text('import importlib\nH = importlib.import_module("artifact_fastai.high")\n')
    (fake/'top.py').write_text('from . import low\nfrom artifact_fastai import mid\nimport numpy\n')
    (fake/'high.py').write_text('from .top import x\n')
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert package_imports(fake/'top.py') == {'low', 'mid'}
    assert upward_imports(['low', 'mid', 'top', 'high']) == {'low': ['high'], 'mid': ['high']}
    assert upward_imports(['low', 'mid', 'high', 'top']) == {'low': ['high'], 'mid': ['high'], 'high': ['top']}


def test_a_loaded_model_never_imports_training_entry_points():
    "No detector kind (nor the registry) reaches `recipes` or `experiment`, directly or through the modules it imports."
    def closure(m, seen=None):
        seen = set() if seen is None else seen
        for d in package_imports(PKG/f'{m}.py') - seen: seen.add(d); closure(d, seen)
        return seen
    for kind_module in ('detector', 'clip', 'anomaly', 'probe', 'ensemble', 'kinds', 'predict'):
        assert not closure(kind_module) & {'recipes', 'experiment', 'cli'}, kind_module
