"""Hostile model files: damaged bytes and rewritten metadata give ModelFileError, never
another exception, and never a different object from a file that only looks intact.

The metadata digest is recomputed after every rewrite (anyone editing a file can do that),
so these tests reach the decoder's own checks of structure and types.
"""

import copy
import json
import os
import zipfile

import numpy as np
import pytest

from shrinkage import io as sio
from shrinkage.bayes import EvidenceRidge
from shrinkage.datasets import make_sparse_regression
from shrinkage.results import CVResult

# One of every JSON type, then nodes that look like the encoder's own.
WRONG_VALUES = [None, True, 7, -1.5, "x", [], [1, "a"], {}, {"k": 1}]
NODE_LIKE = [
    {"__array__": "a0"}, {"__array__": 0}, {"__float__": "nan"}, {"__float__": 1},
    {"__list__": {}}, {"__tuple__": "ab"}, {"__dict__": []}, {"__list__": [], "__dict__": {}},
    {"__obj__": "Path"}, {"__obj__": ["x"], "state": {}},
    {"__obj__": "shrinkage.io.codec:_TypeEntry", "state": {"__dict__": {}}},
    {"__estimator__": "shrinkage.estimators:PenalizedRegressor", "params": [], "fitted": {}},
]


def small_cv():
    rng = np.random.default_rng(0)
    return CVResult(
        lams=np.array([1.0, 0.1]), fold_scores=rng.uniform(size=(2, 2)),
        fold_weights=np.array([3.0, 3.0]), mean=np.array([0.5, 0.25]),
        se=np.array([0.1, 0.2]), metric="mse", greater_is_better=False, index_min=1,
        index_chosen=0, rule="1se", nnz=np.array([0, 2]), fold_ids=None, random_state=3,
        extra={"note": (1, float("inf"), np.str_("s"))},
    )


def _rewrite(target, members):
    os.unlink(target)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _members(target):
    with zipfile.ZipFile(target) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _same_file_content(a, b, tmp_path):
    """Two loaded objects are the same when they save to the same metadata and arrays."""
    metas = []
    for obj, name in ((a, "x.npz"), (b, "y.npz")):
        members = _members(sio.save(obj, tmp_path / name, overwrite=True))
        meta = json.loads(members.pop("metadata.json"))
        metas.append((meta["root"], meta["arrays"]))
    return metas[0] == metas[1]


# --------------------------------------------------------------------------- bytes
def test_every_byte_of_a_small_file_flipped_is_refused_or_harmless(tmp_path):
    obj = small_cv()
    data = sio.save(obj, tmp_path / "m.npz").read_bytes()
    path = tmp_path / "flip.npz"
    rng = np.random.default_rng(0)
    refused = loaded = 0
    for pos in range(len(data)):
        # Every byte inverted; a tenth of them also set to a random value.
        values = [data[pos] ^ 0xFF] + ([int(rng.integers(256))] if pos % 10 == 0 else [])
        for value in values:
            bad = bytearray(data)
            bad[pos] = value
            path.write_bytes(bytes(bad))
            try:
                got = sio.load(path)
            except sio.ModelFileError:
                refused += 1
                continue
            loaded += 1
            assert _same_file_content(got, obj, tmp_path), f"byte {pos} changed the object"
    # Timestamps and other bytes no reader uses may load; most bytes matter.
    assert refused > 0.6 * (refused + loaded)


def test_every_header_byte_of_each_member_overwritten_is_refused_or_harmless(tmp_path):
    # Inside the zip (its CRCs recomputed) the bytes reach the .npy header parser and
    # the JSON reader themselves: each byte of every .npy header and of metadata.json is
    # inverted and set to characters that unbalance Python literals (what makes numpy's
    # header parser raise tokenize.TokenError); data bytes are sampled.
    obj = small_cv()
    target = sio.save(obj, tmp_path / "m.npz")
    members = _members(target)
    rng = np.random.default_rng(1)
    for name, data in members.items():
        header_end = len(data) if name == "metadata.json" else data.index(b"\n") + 1
        positions = list(range(header_end))
        if header_end < len(data):
            positions += rng.integers(header_end, len(data), 8).tolist()
        for pos in positions:
            tricky = b"'\"([{\\\nL"[pos % 8] if pos < header_end else rng.integers(256)
            for value in {data[pos] ^ 0xFF, int(tricky)} - {data[pos]}:
                bad = bytearray(data)
                bad[pos] = value
                _rewrite(target, {**members, name: bytes(bad)})
                try:
                    got = sio.load(target)
                except sio.ModelFileError:
                    continue
                assert _same_file_content(got, obj, tmp_path), (name, pos, value)


# --------------------------------------------------------------------------- metadata
def _node_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _node_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _node_paths(value, (*prefix, i))


def _replaced(meta, where, value):
    meta = copy.deepcopy(meta)
    node = meta
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = copy.deepcopy(value)
    meta["digest"] = sio._meta_digest(meta)
    return meta


def _fitted_evidence_ridge():
    d = make_sparse_regression(20, 3, n_informative=2, random_state=0)
    return EvidenceRidge(lams=np.logspace(-2, 2, 3)).fit(d.X, d.y)


@pytest.mark.parametrize("make", [small_cv, _fitted_evidence_ridge], ids=["cv", "estimator"])
def test_every_metadata_node_replaced_by_every_json_type(tmp_path, make):
    obj = make()
    target = sio.save(obj, tmp_path / "m.npz")
    members = _members(target)
    meta = json.loads(members["metadata.json"])
    outcomes = {"refused": 0, "loaded": 0}
    for where in _node_paths(meta):
        if where in ((), ("digest",)):
            continue
        values = WRONG_VALUES + (NODE_LIKE if where[0] == "root" else [])
        for value in values:
            members["metadata.json"] = json.dumps(_replaced(meta, where, value)).encode()
            _rewrite(target, members)
            try:
                got = sio.load(target)
            except sio.ModelFileError:
                outcomes["refused"] += 1
                continue
            outcomes["loaded"] += 1
            if where[0] != "root":  # info, versions, kind: the object is the saved one
                assert _same_file_content(got, obj, tmp_path), where
            else:  # a value the file really describes: it saves and loads back the same
                again = sio.load(sio.save(got, tmp_path / "again.npz", overwrite=True))
                assert _same_file_content(got, again, tmp_path), where
    assert outcomes["refused"] > outcomes["loaded"]


@pytest.mark.parametrize("text", [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than json can recurse
    b'{"format": "shrinkage", "format_version": NaN}',
    b'{"format": "shrinkage", "format_version": 1, "x": Infinity}',
    b"\xff\xfe not utf-8",
    b"",
    b"[]",
    b'"shrinkage"',
])
def test_unreadable_metadata_json_is_refused(tmp_path, text):
    target = sio.save(small_cv(), tmp_path / "m.npz")
    members = _members(target)
    members["metadata.json"] = text
    _rewrite(target, members)
    with pytest.raises(sio.ModelFileError):
        sio.load(target)
    with pytest.raises(sio.ModelFileError):
        sio.read_metadata(target)


def test_deeply_nested_root_is_refused(tmp_path):
    target = sio.save(small_cv(), tmp_path / "m.npz")
    members = _members(target)
    meta = json.loads(members["metadata.json"])
    root = 1
    for _ in range(400):
        root = {"__list__": [root]}
    meta["root"] = root
    meta["arrays"] = {}
    meta["digest"] = sio._meta_digest(meta)
    _rewrite(target, {"metadata.json": json.dumps(meta).encode()})
    with pytest.raises(sio.ModelFileError, match="levels deep"):
        sio.load(target)
