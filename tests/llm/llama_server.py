"""Start llama-cpp-python's OpenAI-compatible server with weight repacking turned off.

llama.cpp repacks weights into "extra buffer types" (AMX tiles, interleaved layouts) when the CPU has them.
On the project's VMs the CPU reports AMX but the hypervisor does not give the process the tile state, and the
first decode segfaults. Turning ``use_extra_bufts`` off keeps the ordinary CPU kernels (AVX-512/AVX2); the
server, its HTTP API and its grammar-constrained JSON are unchanged. Usage: the server's own arguments.
"""

from __future__ import annotations

import llama_cpp
import llama_cpp.llama_cpp as native

_default_params = native.llama_model_default_params


def _params_without_repacking() -> native.llama_model_params:
    params = _default_params()
    params.use_extra_bufts = False
    return params


native.llama_model_default_params = _params_without_repacking
llama_cpp.llama_model_default_params = _params_without_repacking

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    main()
