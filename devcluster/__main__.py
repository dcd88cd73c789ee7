import sys

from devcluster.cli import main

try:
    sys.exit(main())
except BrokenPipeError:
    # `python -m devcluster status | head` closed our stdout early; that is not an error.
    sys.stderr.close()
    sys.exit(0)
