"""`python -m bench.distributed launch|worker ...`, also as torchrun's `-m bench.distributed worker`.

Nothing a rank runs is defined here: elastic_launch's spawned ranks unpickle
`bench.distributed.rank.run_rank` by its module path, which `__main__` would not give them.
"""

import sys

from bench.distributed.cli import main

sys.exit(main())
