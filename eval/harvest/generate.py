#!/usr/bin/env python3
"""Builds eval/data/generated.jsonl: warden's own cases, made from seeded templates.

Positives for the classes a person reads as personal data (in the forms logs and config text
hold them) and near misses: timestamps, dates, durations, versions, ids, hashes, placeholders,
all of which must be left alone. Deterministic: the same run writes the same file.

    python3 eval/harvest/generate.py
"""
import json
import os
import random
import string

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "generated.jsonl")
R = random.Random(20261128)
cases = []


def add(group, text, pii=()):
    cases.append({"source": f"generated:{group}", "text": text, "pii": [list(p) for p in pii]})


def luhn_sum(digits, doubled_parity):
    """The Luhn sum of `digits`, doubling those at positions (from the right) of that parity."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == doubled_parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def luhn_complete(prefix, length):
    body = prefix + "".join(R.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + str((10 - luhn_sum(body, 0) % 10) % 10)


def luhn_ok(s):
    return luhn_sum(s, 1) % 10 == 0


def not_card(n):
    """A random id of n digits that fails the Luhn check (one that passes it and starts with an
    issuer's prefix is a card number, whatever its use)."""
    while True:
        v = "".join(R.choice(string.digits) for _ in range(n))
        if not luhn_ok(v):
            return v


def group(s, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(out)


# ---- cards ---------------------------------------------------------------------------------
ISSUERS = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
           ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16), ("3528", 16),
           ("3589", 16), ("36", 14), ("300", 14), ("38", 16), ("6304", 16), ("6759", 16),
           ("5018", 16), ("62", 16), ("62", 19), ("2200", 16), ("1", 15), ("5019", 16),
           ("6331", 16), ("6333", 18), ("4903", 16), ("6767", 16), ("6771", 16), ("6709", 16),
           ("9792", 16)]
CARD_CONTEXTS = ["paid with {c} today", "card={c} amount=12.00", '{{"pan":"{c}","exp":"12/29"}}',
                 "Charge declined for {c}.", "stored card ({c}) for user", "[{c}]",
                 "billing: {c}; retry", "refund to {c}"]
for k, (prefix, length) in enumerate(ISSUERS * 4):
    num = luhn_complete(prefix, length)
    if length == 15 and prefix in ("34", "37"):
        fmt = [num, group(num, [4, 6, 5], " "), group(num, [4, 6, 5], "-")][k % 3]
    elif length == 14:
        fmt = [num, group(num, [4, 6, 4], " ")][k % 2]
    else:
        fmt = [num, group(num, [4, 4, 4, 4], " "), group(num, [4, 4, 4, 4], "-")][k % 3]
    ctx = CARD_CONTEXTS[k % len(CARD_CONTEXTS)]
    if fmt == num and length > 16:
        ctx = "card={c} amount=12.00"  # a solid 17-19 digit run is a card only when named
    add("card", ctx.format(c=fmt), [("CREDIT_CARD", fmt)])
# Card numbers announced by a context word, in any grouping.
for k in range(12):
    num = luhn_complete(R.choice(["4", "51", "6011"]), 16)
    fmt = group(num, [R.choice([2, 3, 5, 6]), 5, 5], " ")
    add("card/context", f"my credit card number is {fmt}", [("CREDIT_CARD", fmt)])

# ---- SSNs ----------------------------------------------------------------------------------
def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            return f"{a:03d}", f"{R.randint(1, 99):02d}", f"{R.randint(1, 9999):04d}"


SSN_CONTEXTS = ["applicant {s} verified", "ssn={s}", '"ssn": "{s}"', "record ({s}) updated",
                "SSN {s}.", "[{s}]"]
for k in range(36):
    a, g, s = ssn()
    sep = "-- ."[k % 4]
    v = f"{a}{sep}{g}{sep}{s}"
    add("ssn", SSN_CONTEXTS[k % len(SSN_CONTEXTS)].format(s=v), [("SSN", v)])
SSN_WORDS = ["my SSN: {s}", "social security number {s}", "SSN is {s}", "tax id {s} on file",
             "Social Security No. {s}", "ssn #{s}"]
for k in range(24):
    a, g, s = ssn()
    v = [f"{a}-{g}{s}", f"{a}{g}{s}", f"{a}{g}-{s}", f"{a} {g}{s}"][k % 4]
    add("ssn/context", SSN_WORDS[k % len(SSN_WORDS)].format(s=v), [("SSN", v)])

# ---- phones --------------------------------------------------------------------------------
def d(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def nanp():
    return f"{R.randint(2, 9)}{d(2)}", f"{R.randint(2, 9)}{d(2)}", d(4)


PHONE_FORMS = [
    lambda a, e, l: f"({a}) {e}-{l}", lambda a, e, l: f"{a}-{e}-{l}",
    lambda a, e, l: f"{a}.{e}.{l}", lambda a, e, l: f"+1 {a} {e} {l}",
    lambda a, e, l: f"1-{a}-{e}-{l}", lambda a, e, l: f"+1-{a}-{e}-{l}",
]
PHONE_CONTEXTS = ["Customer called from {p} re: order", "(tel {p})", "contact: {p}",
                  '"phone":"{p}"', "left a voicemail at {p}.", "[{p}]", "callback {p}, urgent"]
for k in range(36):
    p = PHONE_FORMS[k % len(PHONE_FORMS)](*nanp())
    add("phone/nanp", PHONE_CONTEXTS[k % len(PHONE_CONTEXTS)].format(p=p), [("PHONE", p)])
# National numbers with a trunk 0, wherever they stand.
NATIONAL = [lambda: f"0{R.randint(20, 99)} {d(7)}", lambda: f"0{R.randint(20, 99)} {d(4)} {d(4)}",
            lambda: f"0{R.randint(150, 179)} {d(8)}", lambda: f"0{R.randint(1, 9)} {d(2)} {d(2)} {d(2)} {d(2)}",
            lambda: f"0{R.randint(200, 999)} {d(3)} {d(3)}", lambda: f"0{R.randint(30, 99)}/{d(7)}",
            lambda: f"0{R.randint(30, 99)}-{d(3)}-{d(4)}", lambda: f"0{R.randint(1000, 9999)} {d(6)}"]
NAT_CONTEXTS = ["Rückruf bitte ({p})", "ring me ({p}) after 5", "number: {p}.", "<{p}>",
                "'{p}'", "office line [{p}]", "reach me at {p}", "\"{p}\""]
for k in range(48):
    p = NATIONAL[k % len(NATIONAL)]()
    add("phone/national", NAT_CONTEXTS[k % len(NAT_CONTEXTS)].format(p=p), [("PHONE", p)])
# Numbers a context word announces.
CONTEXT_PHONES = [("call me on {p}", lambda: f"{R.randint(2, 9)}{d(2)} {d(7)}"),
                  ("CN mobile {p}", lambda: f"1{R.choice('3456789')}{d(9)}"),
                  ("phone number {p}", lambda: f"{R.randint(6, 9)}{d(9)}"),
                  ("whatsapp: {p}", lambda: f"{R.randint(6, 9)}{d(4)} {d(5)}"),
                  ("Tel: {p}", lambda: f"{d(4)} {d(3)} {d(3)}"),
                  ("cell {p}", lambda: f"{R.randint(2, 9)}{d(2)}{d(7)}")]
for k in range(36):
    t, f = CONTEXT_PHONES[k % len(CONTEXT_PHONES)]
    p = f()
    add("phone/context", t.format(p=p), [("PHONE", p)])

# ---- emails --------------------------------------------------------------------------------
LOCALS = ["ada", "ada.lovelace", "a.b-c_d", "first+tag", "x", "o'brien", "user123", "j.doe+billing",
          "Grace.Hopper", "ops-team"]
DOMAINS = ["example.com", "mail.example.co.uk", "sub.domain.example.org", "example.io",
           "xn--80ak6aa92e.com", "corp.example.museum", "example.de", "e-x.example.net"]
EMAIL_CONTEXTS = ["user {e} signed in", "<{e}>", '"email":"{e}"', "mailto:{e}", "from={e}&x=1",
                  "({e})", "Reply-To: {e}", "notify {e}, done"]
for k in range(40):
    e = f"{LOCALS[k % len(LOCALS)]}@{DOMAINS[k % len(DOMAINS)]}"
    add("email", EMAIL_CONTEXTS[k % len(EMAIL_CONTEXTS)].format(e=e), [("EMAIL", e)])

# ---- IP addresses --------------------------------------------------------------------------
def ipv4():
    while True:
        a = R.randint(1, 223)
        if a not in (10, 127) or R.random() < 0.5:
            if a != 127:
                return f"{a}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


IP_CONTEXTS = ["connection from {ip} port 22", "client={ip}:53211", "GET http://{ip}/x", "[{ip}]",
               "src {ip}, dst gw", "rhost={ip}  user=root", "X-Forwarded-For: {ip}", "/{ip}:50010"]
for k in range(40):
    ip = ipv4()
    add("ip/v4", IP_CONTEXTS[k % len(IP_CONTEXTS)].format(ip=ip), [("IP_ADDRESS", ip)])
for k, ip in enumerate(["2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a",
                        "2a00:1450:4001:81c::200e", "2606:4700:4700::1111", "::ffff:203.0.113.9",
                        "2001:0db8:0000:0000:0000:ff00:0042:8329"]):
    ctx = ["connection from {ip} port 22", "peer=[{ip}]:443", "src {ip}, dst gw", "X-Real-IP: {ip}"][k % 4]
    add("ip/v6", ctx.format(ip=ip), [("IP_ADDRESS", ip)])

# ---- MAC addresses -------------------------------------------------------------------------
for k in range(30):
    octets = [R.randint(0, 255) for _ in range(6)]
    octets[0] &= 0xFE
    h = [f"{o:02x}" for o in octets]
    if k % 2:
        h = [x.upper() for x in h]
    form = k % 3
    mac = ":".join(h) if form == 0 else "-".join(h) if form == 1 else \
        ".".join("".join(h[i:i + 2]) for i in (0, 2, 4))
    ctx = ["station {m} associated", "hwaddr={m}", "ether {m} txqueuelen 1000", "DHCPACK to {m}",
           "[{m}]"][k % 5]
    add("mac", ctx.format(m=mac), [("MAC_ADDRESS", mac)])

# ---- passports -----------------------------------------------------------------------------
PASSPORTS = [lambda: d(9), lambda: R.choice("CFGHJK") + R.choice("0123456789") + d(1) + R.choice("XYZ") + d(2) + R.choice("TV") + d(2),
             lambda: d(2) + R.choice(["AB", "CD", "FR"]) + d(5), lambda: R.choice("ABZ") + d(8)]
PASS_CONTEXTS = ["passport {p}", "Passport No: {p}", "passport number is {p}.",
                 "travel document {p}", "passport_no={p}"]
for k in range(30):
    p = PASSPORTS[k % len(PASSPORTS)]()
    add("passport", PASS_CONTEXTS[k % len(PASS_CONTEXTS)].format(p=p), [("PASSPORT", p)])

# ---- credentials in command lines and config text -----------------------------------------
def pw():
    return "".join(R.choice(string.ascii_letters + string.digits) for _ in range(R.randint(6, 12))) + R.choice("!#%^*")


for k in range(40):
    p = pw()
    t = [
        ("curl -u deploy:{p} https://api.example.com/v1", p),
        ("curl --user \"ops:{p}\" -X POST https://x.example.com", p),
        ("mysql -h db -u root -p{p} appdb", p),
        ("psql --password={p} -h db", p),
        ("wget --password {p} https://files.example.com/a", p),
        ("password   =   \"{p} x\"", p + " x"),
        ("password => '{p}'", p),
        ("getenv(\"API_TOKEN\", \"{p}\")", p),
        ("os.environ.get('DB_PASSWORD', '{p}')", p),
        ("Password does not meet policy: {p}", p),
        ("PGPASSWORD={p} pg_dump app", p),
        ("MYSQL_PWD='{p}' mysql -u app", p),
        ("set secret to {p}", None),
        ("redis://:{p}@cache:6379/0", p),
        ("<password>{p}</password>", None),
    ][k % 15]
    if t[1] is None:
        continue
    text = t[0].replace("{p}", p)
    add("secret/commandline", text, [("SECRET", t[1])])

# Placeholders and references under secret keys: not secrets.
for t in ["password=$API_KEY", "api_key: ${DB_PASSWORD}", "token=<your token>",
          "password: XXXXXXXX", "secret=********", "db_password = var.db_password",
          "token_url=https://auth.example.com/oauth/token", "password: null", "api_key=None",
          "password=\"\"", "token: {{ .Values.token }}", "password=%s", "secret: ${{ secrets.DEPLOY_KEY }}",
          "token=Token{a64f992 ActivityRecord{5f0c3e8 u0 com.example/.Main t12}}",
          "token: 132", "tokens=5", "token_count=4096", "password_policy=strict",
          "api_key: <redacted>", "password=[REDACTED]", "access_token=process.env.ACCESS_TOKEN",
          "client_secret: !vault |", "password: '***'", "TOKEN=changeit?"[:0] + "token=undefined"]:
    add("secret/placeholder", t)

# ---- near misses: numbers that are none of the kinds --------------------------------------
for k in range(60):
    y, mo, dd = R.randint(2000, 2030), R.randint(1, 12), R.randint(1, 28)
    h, mi, s, ms = R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999)
    pid = R.randint(100, 99999)
    t = [
        f"{y}-{mo:02d}-{dd:02d} {h:02d}:{mi:02d}:{s:02d}.{ms:03d} {pid} INFO o.a.h.Server: started",
        f"[{pid}:{mo:02d}{dd:02d}/{h:02d}{mi:02d}{s:02d}.{ms:03d}:WARNING:socket.cc(306)] retry",
        f"{mo:02d}{dd:02d}/{h:02d}{mi:02d}{s:02d} job done",
        f"{dd:02d}/{mo:02d}/{y} {h:02d}:{mi:02d} backup finished",
        f"{mo:02d}.{dd:02d}.{y} {h:02d}:{mi:02d}:{s:02d} sync",
        f"{y%100:02d}{mo:02d}{dd:02d} {h:02d}{mi:02d}{s:02d} {pid} INFO dfs.DataNode: ok",
        f"took {R.randint(1, 9999)}.{d(3)} ms ({R.randint(1, 99)}.{d(2)}%)",
        f"{y}{mo:02d}{dd:02d}{h:02d}{mi:02d}{s:02d}{ms:03d} ts",
        f"elapsed {h:02d}:{mi:02d}:{s:02d}.{d(6)}",
        f"T{h:02d}:{mi:02d}:{s:02d}.{ms:03d}+01:00 [{pid}] GC pause {R.randint(1, 900)}ms",
    ][k % 10]
    add("near/timestamp", t)
for k in range(40):
    n = luhn_complete("4", 19) if k % 2 else d(19)
    t = [f"Verification succeeded for blk_-{n}", f"Deleting block blk_{n} file /data/blk_-{n}",
         f"container_{d(13)}_{d(4)}_01_{d(6)} launched", f"attempt_{d(13)}_{d(4)}_m_{d(6)}_0",
         f"report {d(4)} {d(4)} {d(6)} {d(3)} filed", f"txn id -{d(16)} rolled back",
         f"offset={not_card(19)} partition=3", f"id {not_card(19)}", f"trace 0x{''.join(R.choice('0123456789abcdef') for _ in range(16))}",
         f"commit {''.join(R.choice('0123456789abcdef') for _ in range(40))}"][k % 10]
    add("near/id", t)
for k in range(30):
    t = [f"wcp.dll version 0.0.0.{R.randint(1, 9)}",
         f"amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.{d(5)}_none",
         f"upgraded to v{R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 99)}.{R.randint(0, 255)}",
         f"kernel 2.6.{R.randint(1, 40)}-1.{R.randint(100, 999)} booted",
         f"Chrome/{R.randint(60, 130)}.0.{R.randint(1000, 6999)}.{R.randint(10, 250)} Safari/537.36",
         f"OID 1.3.6.1.4.1.{d(4)}.1.2", f"listening on 127.0.0.1:{R.randint(1024, 65535)}",
         f"bound to 0.0.0.0:{R.randint(1024, 65535)} and [::]:{R.randint(1024, 65535)}",
         f"connect ::1 port {R.randint(1024, 65535)}", f"uuid {R.randbytes(16).hex()[:8]}-{R.randbytes(2).hex()}-4{R.randbytes(2).hex()[1:]}-a{R.randbytes(2).hex()[1:]}-{R.randbytes(6).hex()}",
         ][k % 10]
    add("near/version", t)
for k in range(30):
    t = [f"GET /api/v2/orders/{d(5)} completed status=200 bytes={d(4)} in {R.randint(1, 99)}.{R.randint(0, 9)}ms cache=miss region=eu-west-1 worker={R.randint(1, 9)} retry=0",
         f"processed {d(6)} records in {d(3)} batches; heap {d(4)}MB/{d(4)}MB",
         f"size: {d(8)} bytes, checksum {d(10)}", f"price {R.randint(1, 999)}.{d(2)} EUR x {R.randint(1, 9)}",
         f"lat={R.randint(-89, 89)}.{d(6)} lon={R.randint(-179, 179)}.{d(6)}",
         f"ISBN 978-{d(1)}-{d(3)}-{d(5)}-{d(1)}", f"port {R.randint(1, 65535)} -> {R.randint(1, 65535)}",
         f"scores: {R.randint(1, 99)}.{d(1)} {R.randint(1, 99)}.{d(2)} {d(3)}", f"range 1000-{d(4)}-{d(4)}",
         f"step {d(3)}/{d(4)} loss=0.{d(4)}"][k % 10]
    add("near/numbers", t)

# Context words that do not announce the number after them: a verb as a key, other words in
# between, a unit after the number.
for k in range(30):
    n = d(R.choice([7, 9, 10]))
    t = [f"call_id={n} state=ended", f"called back 3 times in {n} ms", f"mobile app v2.{k} build {n}",
         f"passport check took {n} us", f"tax year 2024 total {n}", f"card reader firmware {n} loaded",
         f"phone battery at {R.randint(1, 99)}%, uptime {n} s", f"ssn_lookup_latency={n}ns",
         f"contact sync finished: {n} records", f"dial plan revision {n} applied"][k % 10]
    add("near/context", t)

with open(OUT, "w", encoding="utf-8") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(f"{len(cases)} cases written to {OUT}")
