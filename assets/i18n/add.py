#!/usr/bin/env python3
"""Adds or updates translation keys in both language files, keeping them sorted.

    python3 assets/i18n/add.py key "中文" "English" [key "中文" "English" ...]
"""
import json
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
args = sys.argv[1:]
if len(args) % 3:
    sys.exit("arguments come in threes: key zh en")
for lang, col in (("zh-CN", 1), ("en", 2)):
    path = here / f"{lang}.json"
    table = json.loads(path.read_text(encoding="utf-8"))
    for i in range(0, len(args), 3):
        table[args[i]] = args[i + col]
    path.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
