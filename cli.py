"""toonlift command line: ``python cli.py {fit,validate,test,predict,plugins,...} --config FILE.yaml``.

Thin on purpose: everything lives in :mod:`toonlift.cli`, which is also the ``toonlift`` console script.
"""

from toonlift.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
