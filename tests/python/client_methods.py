"""Prints the Python client's request methods as JSON, read from the source
with `ast` (so nothing but the standard library is needed):
{request_type: {"params": [[name, required], ...]}}."""

import ast
import json
import sys

tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
methods = {}
for node in ast.walk(tree):
    if isinstance(node, ast.ClassDef) and node.name == "RequestMethods":
        for fn in node.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                continue
            calls = [
                c
                for c in ast.walk(fn)
                if isinstance(c, ast.Call)
                and isinstance(c.func, ast.Attribute)
                and c.func.attr == "_call"
            ]
            sent = calls[0].args[0].value if calls and isinstance(calls[0].args[0], ast.Constant) else None
            args = fn.args
            params = [
                [a.arg, default is None]
                for a, default in zip(args.kwonlyargs, args.kw_defaults)
            ]
            methods[fn.name] = {"request": sent, "params": params}
print(json.dumps(methods))
