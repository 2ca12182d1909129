import sys

from train.sweep.cli import main

sys.exit(main())
