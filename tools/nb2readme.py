#!/usr/bin/env python
"""Render nbs/index.ipynb to README.md without Quarto (nbdev-readme needs it): markdown cells as they are,
code cells fenced as Python, text outputs fenced below them. `--check` exits 1 when README.md differs."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(nb_path: Path) -> str:
    "Markdown text of the notebook at `nb_path`."
    nb = json.loads(nb_path.read_text())
    parts = []
    for cell in nb['cells']:
        src = ''.join(cell['source']).rstrip()
        if cell['cell_type'] == 'markdown': parts.append(src)
        elif cell['cell_type'] == 'code' and not src.startswith('#| hide'):
            parts.append('```python\n' + src + '\n```')
            text = ''.join(''.join(o.get('text', '')) for o in cell.get('outputs', []) if o.get('output_type') == 'stream')
            if text.strip(): parts.append('```\n' + text.rstrip() + '\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/nb2readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'


if __name__ == '__main__':
    text, readme = render(ROOT/'nbs'/'index.ipynb'), ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.is_file() or readme.read_text() != text:
            sys.exit('README.md differs from nbs/index.ipynb: run `python tools/nb2readme.py` and commit both')
        print('README.md matches nbs/index.ipynb')
    else: readme.write_text(text); print(f'wrote {readme}')
