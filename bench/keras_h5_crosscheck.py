"""Cross-check of backbones/keras_h5.ts's writer against h5py and Keras (a one-off check, not a test).

1. h5py: the file our writer produced from mobile_seed1.h5 holds the same root attrs, the same groups
   with the same weight_names attrs, and the same float32 datasets (bit-identical) as the fixture.
2. Keras: NASNetMobile(weights=None).load_weights(ours) (Keras' legacy positional h5 loader) followed by
   model(x, training=False) on inputs_224.bin reproduces mobile_seed1_expected.json's probs.

Usage (the venv needs `pip install h5py tensorflow-cpu keras`):
  npx tsx bench/keras_h5_io.ts --out /tmp/ours_mobile.h5
  /work/venv-h5/bin/python bench/keras_h5_crosscheck.py /tmp/ours_mobile.h5 [FIXTURE_DIR]
FIXTURE_DIR defaults to ../shared/fixtures/keras-nasnet (relative to the repository root).
"""
import json
import os
import sys

import h5py
import numpy as np


def attr_summary(value):
    """(kind, dtype, shape, decoded values) of an h5py attribute value."""
    array = np.asarray(value)
    if array.dtype.kind == "S":
        decoded = [v.decode("utf8") for v in array.reshape(-1)]
    elif array.dtype.kind == "O":
        decoded = [v.decode("utf8") if isinstance(v, bytes) else v for v in array.reshape(-1)]
    else:
        decoded = array.reshape(-1).tolist()
    return array.dtype.str, array.shape, decoded


def compare_h5(ours_path, ref_path):
    problems = []
    with h5py.File(ours_path, "r") as ours, h5py.File(ref_path, "r") as ref:
        for key in sorted(set(ref.attrs) | set(ours.attrs)):
            if key not in ours.attrs or key not in ref.attrs:
                problems.append(f"root attr {key}: present only in {'ours' if key in ours.attrs else 'fixture'}")
            elif attr_summary(ours.attrs[key]) != attr_summary(ref.attrs[key]):
                problems.append(f"root attr {key}: {attr_summary(ours.attrs[key])[:2]} vs {attr_summary(ref.attrs[key])[:2]}")
        if sorted(ours.keys()) != sorted(ref.keys()):
            problems.append("different top-level groups")
        datasets = 0
        for layer in [n.decode("utf8") for n in ref.attrs["layer_names"]]:
            g_ours, g_ref = ours[layer], ref[layer]
            if attr_summary(g_ours.attrs["weight_names"]) != attr_summary(g_ref.attrs["weight_names"]):
                problems.append(f"{layer}: weight_names {attr_summary(g_ours.attrs['weight_names'])} vs {attr_summary(g_ref.attrs['weight_names'])}")
            for name in attr_summary(g_ref.attrs["weight_names"])[2]:
                a, b = g_ours[name], g_ref[name]
                if a.dtype != b.dtype or a.shape != b.shape or a[()].tobytes() != b[()].tobytes():
                    problems.append(f"{layer}/{name}: {a.dtype}{a.shape} vs {b.dtype}{b.shape} or different bytes")
                datasets += 1
        print(f"h5py: {len(ref.attrs['layer_names'])} layers, {datasets} datasets compared; "
              f"root attr dtypes ours {[(k, ours.attrs[k].dtype.str) for k in ours.attrs]}; "
              f"weight_names dtype ours {ours['stem_conv1'].attrs['weight_names'].dtype.str}, "
              f"weightless {ours['input_layer'].attrs['weight_names'].dtype.str}{ours['input_layer'].attrs['weight_names'].shape}")
    return problems


def keras_check(ours_path, fixture_dir):
    import keras

    expected = json.load(open(os.path.join(fixture_dir, "mobile_seed1_expected.json")))
    x = np.fromfile(os.path.join(fixture_dir, "inputs_224.bin"), dtype="<f4").reshape(2, 224, 224, 3)
    probs = {}
    for label, path in (("ours", ours_path), ("fixture", os.path.join(fixture_dir, "mobile_seed1.h5"))):
        keras.utils.set_random_seed(1)
        keras.backend.clear_session()
        model = keras.applications.NASNetMobile(weights=None)
        model.load_weights(path)
        probs[label] = np.asarray(model(x, training=False))
    same = np.array_equal(probs["ours"], probs["fixture"])
    vs_json = np.abs(probs["ours"] - np.asarray(expected["probs"], dtype=np.float32)).max()
    print(f"keras {keras.__version__}: load_weights(ours) ok; probs bit-identical to load_weights(fixture): {same}; "
          f"max |diff| vs the fixture's expected probs: {vs_json:.3g} (run-to-run float32 noise; tolerance floor 5e-8)")
    return [] if same and vs_json <= 5e-8 else [f"probs: identical={same}, max diff vs expected {vs_json}"]


def main():
    ours = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fixture_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "..", "shared", "fixtures", "keras-nasnet")
    problems = compare_h5(ours, os.path.join(fixture_dir, "mobile_seed1.h5")) + keras_check(ours, fixture_dir)
    print("\n".join(problems) if problems else "OK: identical attrs and datasets, Keras outputs bit-identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
