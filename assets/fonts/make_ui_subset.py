#!/usr/bin/env python3
"""Builds assets/fonts/ui-sc-subset.otf: the Simplified Chinese face of Noto Sans CJK
(SIL Open Font License 1.1) cut down to the characters of our Chinese UI strings.

It is the last-resort fallback when the system has no Chinese font, and it keeps the
UI tests independent of the machine's fonts. It is installed before the first frame;
cjk-sc-common.otf.z (make_cjk_subset.py) follows lazily when the system has no Chinese
face. Re-run both after changing assets/i18n/zh-CN.json:

    pip install fonttools && python3 assets/fonts/make_ui_subset.py
"""
import json
import pathlib
import subprocess
import sys

from fontTools.ttLib import TTCollection

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_cjk_subset import LEAN  # noqa: E402

here = pathlib.Path(__file__).resolve().parent
src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
strings = json.loads((here.parent / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
chars = set("".join(strings.values()))
chars |= {chr(c) for c in range(0x20, 0x7F)}
# Symbols and text written directly in the code (sort arrows, dots, units…).
for rs in (here.parent.parent / "src").rglob("*.rs"):
    chars |= {c for c in rs.read_text(encoding="utf-8") if ord(c) > 0x7F}
chars |= set("，。：；！？（）「」《》、…·—￥¥•●≈×✓✗")
index = next(
    i for i, f in enumerate(TTCollection(str(src)).fonts)
    if "Noto Sans CJK SC" in str(f["name"].getDebugName(1))
)
text = "".join(sorted(c for c in chars if not c.isspace()))
subprocess.run(
    ["pyftsubset", str(src), f"--font-number={index}", f"--text={text}", *LEAN,
     f"--output-file={here / 'ui-sc-subset.otf'}"],
    check=True,
)
print(f"{len(text)} characters, face {index}")
