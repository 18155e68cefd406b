"""The figures of Jensen et al. 2001 and Donner & Jensen 2005, reproduced with a Monte Carlo reference.

``python -m bssrdf.figures`` writes them all into ``paper_figures/<paper>/``; the notebooks
``notebooks/jensen2001.ipynb`` and ``notebooks/donner2005.ipynb`` call the same code:

>>> from bssrdf import figures
>>> out = figures.show("j01", photons=20_000)    # doctest: +SKIP

One module per figure (``jensen2001_j01.py`` ...): see :mod:`bssrdf.figures._core` for what each
provides. Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from ._core import Context, FigureSpec, Output, make, registry, show, write

__all__ = ["Context", "FigureSpec", "Output", "make", "registry", "show", "write"]
