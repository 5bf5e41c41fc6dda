"""``edgeemo bench``: accuracy beside latency, memory and size on each target device.

* :mod:`.profiles` — device profiles (``devices/*.toml``) and detection
* :mod:`.runner` — the sweep; :mod:`.worker` measures one row in a fresh process
* :mod:`.report` — terminal table, JSON / CSV / Markdown, Pareto PNG
* :mod:`.jetson` — tegrastats, nvpmodel and jetson_clocks on a Jetson
* :mod:`.remote` — the same bench on a board over SSH
"""
