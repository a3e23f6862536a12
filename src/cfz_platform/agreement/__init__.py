"""The built platform against the simulator's truth: a consumer of the simulator, the marts and
the ML code, kept out of ``cfz_platform.simulate`` so the simulator stays a leaf.

Modules: ``fields`` (per-field agreement of the marts with the truth folder), ``chain`` (the
whole chain on a simulated landing folder), ``model`` (the model card's primary model against
the latent oracle), ``__main__`` (``python -m cfz_platform.agreement --seed S --patients N
--scenarios all``).
"""
