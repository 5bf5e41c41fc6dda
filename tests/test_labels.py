"""The label schema and the mappings into it, checked against hand-written expectations."""

from __future__ import annotations

import numpy as np
import pytest

from edgeemo.labels import (
    AFFECTNET_CLASSES,
    AFFECTNET_TO_FER7,
    CLASSES,
    EXCLUDED,
    FERPLUS_CLASSES,
    FERPLUS_TO_FER7,
    MUXSPACE_CLASSES,
    MUXSPACE_TO_FER7,
    class_index,
    ferplus_majority,
    ferplus_soft_labels,
    remap,
)

# FER7: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral
X = EXCLUDED


def test_canonical_order_is_fer2013():
    assert CLASSES == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert EXCLUDED == -1


def test_ferplus_to_fer7():
    # neutral, happiness, surprise, sadness, anger, disgust, fear, contempt
    assert FERPLUS_CLASSES == ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    np.testing.assert_array_equal(FERPLUS_TO_FER7, [6, 3, 5, 4, 0, 1, 2, X])


def test_affectnet_to_fer7():
    # anger, contempt, disgust, fear, happy, neutral, sad, surprise
    assert AFFECTNET_CLASSES == ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    np.testing.assert_array_equal(AFFECTNET_TO_FER7, [0, X, 1, 2, 3, 6, 4, 5])


def test_muxspace_to_fer7():
    # anger, contempt, disgust, fear, happiness, neutral, sadness, surprise
    assert MUXSPACE_CLASSES == ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
    np.testing.assert_array_equal(MUXSPACE_TO_FER7, [0, X, 1, 2, 3, 6, 4, 5])


@pytest.mark.parametrize(
    ("name", "index"),
    [("angry", 0), ("Anger", 0), (" happy ", 3), ("HAPPINESS", 3), ("sadness", 4), ("surprised", 5),
     ("fearful", 2), ("disgusted", 1), ("neutral", 6), ("contempt", X), ("NF", X), ("unknown", X)],
)
def test_class_index_synonyms(name, index):
    assert class_index(name) == index


def test_class_index_unknown_lists_known_names():
    with pytest.raises(KeyError, match="bored.*happy"):
        class_index("bored")


def test_remap_element_by_element():
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, -1, 8])
    np.testing.assert_array_equal(remap(labels, MUXSPACE_CLASSES), [0, X, 1, 2, 3, 6, 4, 5, X, X])
    np.testing.assert_array_equal(remap(labels, FERPLUS_CLASSES), [6, 3, 5, 4, 0, 1, 2, X, X, X])
    np.testing.assert_array_equal(remap(labels[:7], CLASSES), np.arange(7))


def test_remap_keeps_shape_and_dtype():
    out = remap(np.array([[0, 4], [7, 5]], dtype=np.int8), MUXSPACE_CLASSES)
    assert out.shape == (2, 2) and out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 3], [5, 6]])


def test_remap_unknown_name_raises():
    with pytest.raises(KeyError, match="bored"):
        remap(np.array([0]), ["happy", "bored"])


def test_ferplus_soft_labels_hand_computed():
    votes = np.array([
        # neu hap sur sad ang dis fea con unk NF
        [4, 0, 0, 1, 3, 2, 0, 0, 0, 0],   # 10 votes: neutral .4, sad .1, angry .3, disgust .2
        [2, 0, 0, 0, 0, 0, 0, 3, 4, 1],   # contempt/unknown/NF dropped: all neutral
        [0, 0, 0, 0, 0, 0, 0, 5, 3, 2],   # nothing left: all zeros
        [0, 1, 1, 0, 0, 0, 2, 0, 0, 0],   # happy .25, surprise .25, fear .5 (single votes kept)
    ])
    expected = np.array([
        # ang  dis  fea  hap  sad  sur  neu
        [0.3, 0.2, 0.0, 0.0, 0.1, 0.0, 0.4],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.5, 0.25, 0.0, 0.25, 0.0],
    ])
    soft = ferplus_soft_labels(votes)
    assert soft.dtype == np.float32 and soft.shape == (4, 7)
    np.testing.assert_allclose(soft, expected, atol=1e-6)
    # N×8 (no unknown/NF columns) gives the same for rows without those votes
    np.testing.assert_allclose(ferplus_soft_labels(votes[[0, 3], :8]), expected[[0, 3]], atol=1e-6)


def test_ferplus_soft_labels_bad_shape():
    with pytest.raises(ValueError, match="N×10"):
        ferplus_soft_labels(np.zeros((3, 7)))


def test_ferplus_majority_hand_made_rows():
    rows = [
        # neu hap sur sad ang dis fea con unk NF    expected
        ([0, 10, 0, 0, 0, 0, 0, 0, 0, 0], 3),       # happiness
        ([0, 0, 7, 0, 0, 0, 0, 0, 0, 0], 5),        # surprise
        ([0, 0, 0, 4, 0, 0, 0, 0, 0, 0], 4),        # sadness
        ([0, 0, 0, 0, 6, 0, 0, 0, 0, 0], 0),        # anger
        ([0, 0, 0, 0, 2, 5, 0, 0, 0, 0], 1),        # disgust 5 > 3.5
        ([0, 0, 0, 0, 0, 0, 3, 0, 0, 0], 2),        # fear
        ([6, 0, 1, 1, 0, 0, 0, 0, 2, 0], 6),        # singles dropped: 6 of 8
        ([5, 0, 0, 0, 4, 0, 0, 0, 0, 1], 6),        # 5 of 10 is not a majority, but the single NF vote goes: 5 of 9
        ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], X),        # 4 of 9 after dropping the single vote
        ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], X),        # exactly half is not more than half
        ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], X),        # only single votes: nothing left
        ([0, 0, 0, 0, 0, 0, 0, 8, 2, 0], X),        # contempt majority
        ([1, 0, 0, 0, 0, 0, 0, 0, 9, 0], X),        # unknown majority
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10], X),       # not a face
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], X),        # no votes
    ]
    votes = np.array([r for r, _ in rows])
    expected = np.array([e for _, e in rows])
    got = ferplus_majority(votes)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_ferplus_majority_needs_ten_columns():
    with pytest.raises(ValueError, match="N×10"):
        ferplus_majority(np.zeros((2, 8)))


def test_ferplus_majority_agrees_with_shared_data(fer_npz):
    z = np.load(fer_npz, allow_pickle=False)
    assert tuple(str(c) for c in z["ferplus_class_names"]) == FERPLUS_CLASSES
    column = z["ferplus_majority"].astype(np.int64)
    # the file's column is in FER+ order: 7 = contempt and -1 = excluded both become -1
    expected = np.where(column < 0, X, FERPLUS_TO_FER7[np.clip(column, 0, 7)])
    got = ferplus_majority(z["ferplus_votes"])
    agreement = float((got == expected).mean())
    assert agreement >= 0.999, f"only {agreement:.4%} agree with the file's ferplus_majority"


def test_muxspace_remap_matches_shared_column(mux_npz):
    z = np.load(mux_npz, allow_pickle=False)
    assert tuple(str(c) for c in z["class_names"]) == MUXSPACE_CLASSES
    np.testing.assert_array_equal(remap(z["labels"], MUXSPACE_CLASSES), z["labels_fer7"].astype(np.int64))
