"""3D Faces (Basel Face Model renders, as used by DC-IGN and the paper): three honest routes.

The paper's faces are renders of the Basel Face Model 2009 (BFM), which needs registration and
may not be redistributed, so there is no official download. `prepare` tries, in order:

1. DC-IGN's renders (Kulkarni et al. 2015), mirrored as one zip on S3 (`faces_dcign`).
2. If the mirror cannot be reached: our own renders of a BFM file the user placed at
   `<raw_dir>/01_MorphableModel.mat`, with random shape, pose and light (`faces_basel`).
3. Otherwise one error says exactly what to obtain and where to put it; the demo then runs
   on the synthetic heads stand-in.

This module only chooses; each route's reader owns its own format and facts.
"""

import logging
from pathlib import Path

from infogan.data.download import fetch, served_from
from infogan.data.real import faces_basel, faces_dcign
from infogan.errors import DownloadError

log = logging.getLogger(__name__)

# The offline stand-in the demo uses when no real faces can be had (another module).
SYNTHETIC_STAND_IN = "synthetic_heads"


def _nothing_to_use(raw_dir, download_failure) -> DownloadError:
    raw_dir = Path(raw_dir)
    return DownloadError(
        f"3D Faces: no source could be used. The DC-IGN renders could not be downloaded ({download_failure}), "
        f"and there is no Basel Face Model file at {raw_dir / faces_basel.BFM_NAME}. To render the faces: register for the "
        f"Basel Face Model 2009 at the University of Basel ({faces_basel.BFM_URL}; non-commercial research licence, registration needed), "
        f"download and unpack its archive, place {faces_basel.BFM_NAME} (in its PublicMM1 folder) at {raw_dir / faces_basel.BFM_NAME}, "
        f"and run this again; or place {faces_dcign.ZIP_NAME} at {raw_dir / faces_dcign.ZIP_NAME}. Until then the demo runs on "
        f"synthetic heads instead (`infogan prepare {SYNTHETIC_STAND_IN}`)."
    )


def prepare(out_path, raw_dir, mirrors=None, *, files=None, bfm_sizes=None, seed=0, random_texture=False,
            backoff_s=1.0) -> None:
    """Write the 3D Faces to `out_path` by the first route that works (see the module docstring).

    A zip already in `raw_dir` is used as is. `mirrors` (base URLs) or $INFOGAN_FACES_MIRRORS
    replace the S3 mirror; `files` ({"zip": RemoteFile}) stands in for it in tests;
    `bfm_sizes` ({"train": n, "test": n}), `seed` and `random_texture` set the BFM renders.
    """
    raw_dir = Path(raw_dir)
    remote = (files or {}).get("zip", faces_dcign.FILE)
    bases = faces_dcign.mirror_bases(mirrors)
    if bases:
        remote = served_from(remote, bases)
    try:
        zip_path = fetch(remote, raw_dir, backoff_s=backoff_s, content_check=faces_dcign.check_zip)
    except DownloadError as exc:
        if (raw_dir / remote.name).exists():
            raise  # a zip the user placed is broken: say so rather than quietly take another route
        model_path = raw_dir / faces_basel.BFM_NAME
        if not model_path.exists():
            raise _nothing_to_use(raw_dir, exc) from exc
        log.warning("DC-IGN mirror failed (%s); rendering from %s instead", exc, model_path)
        faces_basel.prepare(out_path, model_path, sizes=bfm_sizes, seed=seed, random_texture=random_texture)
        return
    faces_dcign.prepare(out_path, zip_path)
