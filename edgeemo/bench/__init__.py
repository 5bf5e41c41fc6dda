"""``edgeemo bench``: accuracy beside latency, memory and size on each target device.

* :mod:`.profiles` — device profiles (package data ``edgeemo/bench/devices/*.toml``) and detection
* :mod:`.artifacts` — which artifacts each model needs, the build plan, the shared artifact cache
* :mod:`.sweep` — the rows and the sweep; :mod:`.worker` measures one row in a fresh process (:mod:`.jobs`)
* :mod:`.environment` — the machine, runtimes and method recorded with every result
* :mod:`.schema` — the result's record keys; :mod:`.report` — table, JSON / CSV / Markdown, Pareto PNG
* :mod:`.vlm_options`, :mod:`.vlm_rows`, :mod:`.vlm_worker` — vision-LLM rows
* :mod:`.jetson` — tegrastats, nvpmodel and jetson_clocks on a Jetson
* :mod:`.remote`, :mod:`.fleet` — the same bench on boards over SSH; :mod:`.command` — the CLI
"""
