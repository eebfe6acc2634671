"""Runs the peer's torch_bench.py with N intra-op threads instead of 1 (bench:peer --threads N).

torch_bench.py calls torch.set_num_threads(1) at import; this wrapper makes that call set
PEER_THREADS threads instead (inter-op stays 1), then runs the script unchanged.
"""
import os
import runpy
import sys

import torch

n = int(os.environ["PEER_THREADS"])
_set = torch.set_num_threads
torch.set_num_threads = lambda _n: _set(n)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
