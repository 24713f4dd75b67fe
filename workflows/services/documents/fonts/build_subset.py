"""Rebuild the bundled font: Noto Serif CJK SC Regular cut to GB 2312 (7 445 characters), ASCII, punctuation.

The full font is 23 MB; this subset is 2.1 MB and covers the names and texts of Chinese official
documents. Each PDF embeds only the glyphs it uses (fpdf2 subsets again at render time). The source
is Debian's fonts-noto-cjk; the licence is the SIL Open Font License 1.1 (OFL.txt beside this file).

    python workflows/services/documents/fonts/build_subset.py /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
"""
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

OUT = Path(__file__).with_name("NotoSerifCJKsc-Regular-GB2312.otf")
SC = 2  # the Simplified Chinese face in the collection


def gb2312() -> str:
    # ASCII, and punctuation people type that GB 2312 spells otherwise (— is U+2015 there).
    chars = {chr(c) for c in range(0x20, 0x7F)} | set("—–…·‘’“”￥¥№℃±×÷")
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(chars))


def main(source: str) -> None:
    font = TTCollection(source).fonts[SC]
    options = subset.Options()
    options.layout_features, options.hinting, options.name_IDs = [], False, ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=gb2312())
    subsetter.subset(font)
    font.save(OUT)


if __name__ == "__main__":
    main(sys.argv[1])
