"""gen.sh's last step: rewrites each `//go:wasmimport` declaration of a generated binding so
that it takes uint32 where wit-bindgen writes uintptr, behind a same-named Go wrapper.

Why: Go 1.24 and TinyGo ≥ 0.33 accept uintptr parameters in //go:wasmimport, Go 1.23 (the
TinyGo 0.35 language level that check-go123.sh vets at) does not. On wasm a uintptr parameter
is lowered to i32 like uint32, so the import's signature does not change.
"""

import re
import sys

DECL = re.compile(r"^[ \t]*//go:wasmimport (\S+) (\S+)[ \t]*\n[ \t]*func (\w+)\(([^)]*)\)[ \t]*\n", re.M)


def rewrite(match: "re.Match[str]") -> str:
    module, name, func, params = match.groups()
    args = [p.split() for p in params.split(",") if p.strip()]
    raw = ", ".join(f"{n} {'uint32' if t == 'uintptr' else t}" for n, t in args)
    call = ", ".join(f"uint32({n})" if t == "uintptr" else n for n, t in args)
    if "uintptr" not in params:
        return match.group(0)
    return (
        f"//go:wasmimport {module} {name}\nfunc {func}_raw({raw})\n\n"
        f"func {func}({params}) {{ {func}_raw({call}) }}\n"
    )


for path in sys.argv[1:]:
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(DECL.sub(rewrite, text))
