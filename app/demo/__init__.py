"""The demonstration year: a synthetic national year of releases (`year`), which `joinup demo`
loads through the loader's own path and `joinup demo --export` writes out for `joinup import`.
It sits beside the product rather than in it: nothing in app/ but the command line uses it."""
