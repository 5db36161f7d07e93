#!/usr/bin/env bash
# The README's first command, run on the 2-core, no-GPU development machine (wall time in demo-output.txt);
# copied here from --out without the weights and the (re-creatable) synthetic store.
set -euo pipefail
ferbench demo --out /tmp/demo5
