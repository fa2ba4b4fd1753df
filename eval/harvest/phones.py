#!/usr/bin/env python3
"""Builds eval/data/phones_by_region.jsonl: the national-format phone numbers of every region.

From libphonenumber's metadata (the `phonenumbers` package on PyPI, Apache-2.0): each region's
example number of each type, written in national format (trunk prefix, area code, the groups as
the region's plan writes them, short plans' five digits included), after a context word and
under a phone-named key. Deterministic.

    python3 eval/harvest/phones.py > eval/data/phones_by_region.jsonl
"""
import json, sys
import phonenumbers
from phonenumbers import PhoneNumberType as T, PhoneNumberFormat as F

TYPES = [T.FIXED_LINE, T.MOBILE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE, T.VOIP, T.PERSONAL_NUMBER, T.UAN]
cases = []
for region in sorted(phonenumbers.SUPPORTED_REGIONS):
    seen = set()
    for t in TYPES:
        n = phonenumbers.example_number_for_type(region, t)
        if n is None:
            continue
        national = phonenumbers.format_number(n, F.NATIONAL)
        if national in seen:
            continue
        seen.add(national)
        src = f"libphonenumber:metadata#{region}"
        cases.append({"source": src, "text": f"call me on {national} today", "pii": [["PHONE", national]]})
        cases.append({"source": src, "text": f"phone={national} status=ok", "pii": [["PHONE", national]]})
for c in cases:
    print(json.dumps(c, ensure_ascii=False))
