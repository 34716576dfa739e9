#!/usr/bin/env python3
"""Builds assets/fonts/cjk-sc-common.otf.z: the Simplified Chinese face of Noto Sans CJK
(SIL Open Font License 1.1, see OFL.txt) cut down to all of GB 2312 (6,763 hanzi and its
symbols), which holds level 1 of the 通用规范汉字表 (2013, 3,500 characters) except 啰 and
瞭, added here, plus ASCII and our UI strings; zlib-compressed.

It is the fallback the app loads (lazily, off the UI thread) only when the system has no
Chinese face, so sites' names, notes and log text in Chinese do not show as boxes.
egui does no shaping, so layout tables (GSUB/GPOS…), vertical metrics, hinting and glyph
names are dropped: 1.5 MB of outlines, ~1.3 MB compressed.

    pip install fonttools
    apt-get install fonts-noto-cjk          # or pass the .ttc/.otf path
    python3 assets/fonts/make_cjk_subset.py [NotoSansCJK-Regular.ttc]
"""
import pathlib
import subprocess
import sys
import tempfile
import zlib

from fontTools.ttLib import TTCollection

here = pathlib.Path(__file__).resolve().parent
src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

# Options shared with make_ui_subset.py: no shaping tables for a renderer that does not shape.
LEAN = [
    "--layout-features=",
    "--no-hinting",
    "--desubroutinize",
    "--drop-tables+=vhea,vmtx,VORG,GSUB,GPOS,BASE,GDEF,DSIG",
    "--name-IDs=0,1,2,3,4,6,13,14",
    "--no-glyph-names",
    "--notdef-outline",
]


def gb2312():
    """Every character GB 2312 encodes (rows 1-9 symbols, rows 16-87 hanzi)."""
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def face_index(path):
    if path.suffix.lower() != ".ttc":
        return 0
    return next(
        i for i, f in enumerate(TTCollection(str(path)).fonts) if "Noto Sans CJK SC" in str(f["name"].getDebugName(1))
    )


def main():
    chars = gb2312()
    hanzi = {c for c in chars if "\u4e00" <= c <= "\u9fff"}
    assert len(hanzi) == 6763, len(hanzi)
    # Level 1 of the 通用规范汉字表 outside GB 2312 (checked against the standard's list).
    chars |= set("啰瞭")
    chars |= {chr(c) for c in range(0x20, 0x7F)}
    # The UI's own strings and symbols, so this face alone also draws the whole UI.
    ui = (here.parent / "i18n" / "zh-CN.json").read_text(encoding="utf-8")
    chars |= {c for c in ui if ord(c) > 0x7F}
    for rs in (here.parent.parent / "src").rglob("*.rs"):
        chars |= {c for c in rs.read_text(encoding="utf-8") if ord(c) > 0x7F}
    text = "".join(sorted(c for c in chars if not c.isspace()))
    with tempfile.TemporaryDirectory() as tmp:
        otf = pathlib.Path(tmp) / "subset.otf"
        subprocess.run(
            ["pyftsubset", str(src), f"--font-number={face_index(src)}", f"--text={text}", *LEAN,
             f"--output-file={otf}"],
            check=True,
        )
        raw = otf.read_bytes()
    packed = zlib.compress(raw, 9)
    (here / "cjk-sc-common.otf.z").write_bytes(packed)
    print(f"{len(text)} characters; {len(raw)} bytes of font, {len(packed)} compressed")


if __name__ == "__main__":
    main()
