"""LoRA adapters trained on a workspace's own code (``loomline adapt``).

``store``: where an adapter named N lives (``<cacheDir>/adapters/N``) and its manifest;
``samples``: FIM training samples cut from a repository the way completions are asked;
``training`` / ``evaluation``: the LoRA training loop and the held-out metrics (torch, peft);
``command``: the ``loomline adapt`` command that ties them together.
"""
