"Face ROI contracts: MediaPipe and Haar boxes on real photos, the box cache, FaceCrop geometry and bookkeeping, paste_map."
import json, os, pickle, warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata
from fastai.vision.core import PILImage

from artifact_fastai.core import DetectorConfig
from artifact_fastai.roi import (FACE_MODEL_COMMAND, FACE_MODEL_ENV, FACE_MODEL_NAME, FaceCrop, FaceCropWarning,
                                 FaceDetector, FaceModelNotFoundError, HaarFaceDetector, MediaPipeFaceDetector, find_face_model,
                                 image_key, make_face_detector, paste_map, precompute_boxes)

ASTRONAUT_MEDIAPIPE = (177, 82, 95, 95)  # measured once; see ../shared/ENVIRONMENT.md
ASTRONAUT_HAAR = (177, 66, 95, 95)


@pytest.fixture(scope='module')
def astronaut(): return Image.fromarray(skdata.astronaut())

@pytest.fixture(scope='module')
def coffee(): return Image.fromarray(skdata.coffee())

@pytest.fixture(scope='module')
def face_model():
    "The MediaPipe model from the default lookup (env var or user cache); skip with the fix when it is absent."
    try: return find_face_model()
    except FaceModelNotFoundError as e: pytest.skip(f"MediaPipe face model not installed; run `{FACE_MODEL_COMMAND}` ({e})")

@pytest.fixture
def no_face_model(monkeypatch, tmp_path):
    "An environment where the face-model lookup finds nothing: no env var, an empty user cache."
    monkeypatch.delenv(FACE_MODEL_ENV, raising=False)
    monkeypatch.setenv('ARTIFACT_FASTAI_CACHE', str(tmp_path/'empty_cache'))

class FixedDetector(FaceDetector):
    "A detector that returns given boxes, for geometry tests."
    backend = 'fixed'
    def __init__(self, boxes): super().__init__(); self.boxes = boxes
    def detect(self, arr): return self.boxes
    def settings(self): return {'backend': self.backend, 'boxes': [list(b) for b in self.boxes]}

def pil(img): return PILImage(img.copy())  # PILImage(x) retypes x in place; keep the fixtures plain

def caught_roi_warnings(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        result = fn()
    return result, [str(x.message) for x in w if issubclass(x.category, FaceCropWarning)]


def test_mediapipe_finds_astronaut_face(face_model, astronaut):
    det = MediaPipeFaceDetector(face_model)
    faces = det(astronaut)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0][:4], ASTRONAUT_MEDIAPIPE, atol=3)
    assert faces[0].score > 0.8
    assert det.n_calls == 1

def test_coffee_has_no_face_and_fallback_is_recorded(face_model, coffee, tmp_path):
    tfm = FaceCrop('mediapipe', fallback='center', cache_dir=tmp_path)
    out, msgs = caught_roi_warnings(lambda: tfm(pil(coffee)))
    assert out.size == (400, 400) and isinstance(out, PILImage)  # centre square of 600 x 400
    assert tfm.crop_box(coffee) == (100, 0, 500, 400)
    assert tfm.records == {image_key(coffee): 'fallback'}
    assert tfm.stats['fallback'] == 1 and tfm.stats['found'] == 0
    assert any('1 of 1 images' in m and "fallback 'center'" in m for m in msgs), msgs

def test_cached_second_pass_makes_zero_detector_calls(face_model, astronaut, coffee, tmp_path):
    first = FaceCrop('mediapipe', cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FaceCropWarning)
        boxes = [first.crop_box(pil(im)) for im in (astronaut, coffee)]
        assert first.detector.n_calls == 2
        for _ in range(2): [first(pil(im)) for im in (astronaut, coffee)]  # more epochs, same process
        assert first.detector.n_calls == 2
        later = FaceCrop('mediapipe', cache_dir=tmp_path)  # a later run: fresh memory, same disk cache
        assert [later.crop_box(pil(im)) for im in (astronaut, coffee)] == boxes
    assert later.detector.n_calls == 0
    assert later.stats['found'] == 1 and later.stats['fallback'] == 1

def test_haar_finds_astronaut_when_mediapipe_model_absent(no_face_model, astronaut, tmp_path):
    with pytest.raises(FaceModelNotFoundError, match=FACE_MODEL_COMMAND): find_face_model()
    with pytest.raises(FaceModelNotFoundError, match=FACE_MODEL_COMMAND): make_face_detector('mediapipe')
    det, msgs = caught_roi_warnings(lambda: make_face_detector('auto', model_path=tmp_path/'nonexistent.tflite'))
    assert isinstance(det, HaarFaceDetector)
    assert any('Haar' in m and FACE_MODEL_COMMAND in m for m in msgs), msgs
    faces = det(astronaut)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0][:4], ASTRONAUT_HAAR, atol=3)
    tfm, _ = caught_roi_warnings(lambda: FaceCrop(cache_dir=tmp_path))
    assert tfm.settings()['backend'] == 'haar'

def test_model_lookup_order(monkeypatch, tmp_path):
    env_model, arg_model = tmp_path/'env.tflite', tmp_path/'arg.tflite'
    env_model.write_bytes(b'1'); arg_model.write_bytes(b'2')
    monkeypatch.setenv('ARTIFACT_FASTAI_CACHE', str(tmp_path/'cache'))
    monkeypatch.setenv(FACE_MODEL_ENV, str(env_model))
    assert find_face_model(arg_model) == arg_model
    assert find_face_model() == env_model
    monkeypatch.delenv(FACE_MODEL_ENV)
    (tmp_path/'cache').mkdir(); (tmp_path/'cache'/FACE_MODEL_NAME).write_bytes(b'3')
    assert find_face_model() == tmp_path/'cache'/FACE_MODEL_NAME

def test_corrupt_cache_is_rebuilt_with_warning(face_model, astronaut, coffee, tmp_path):
    tfm = FaceCrop('mediapipe', cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FaceCropWarning)
        box = tfm.crop_box(astronaut); tfm.crop_box(coffee)
    cache_file = tfm.cache.path
    lines = cache_file.read_text().splitlines()
    assert len(lines) == 3  # header + 2 images
    cache_file.write_text(lines[0] + '\n' + lines[1][:25] + '\n\x00\xff garbage\n' + lines[2] + '\n')  # astronaut's line damaged
    again = FaceCrop('mediapipe', cache_dir=tmp_path)
    got, msgs = caught_roi_warnings(lambda: again.crop_box(astronaut))
    assert got == box
    assert any('corrupt' in m and 'rebuilt' in m for m in msgs), msgs
    assert again.detector.n_calls == 1  # the damaged entry was detected again, coffee came from the cache
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FaceCropWarning)
        again.crop_box(coffee)
    assert again.detector.n_calls == 1
    rebuilt = [json.loads(l) for l in cache_file.read_text().splitlines()]  # every line parses again
    assert {d.get('k') for d in rebuilt[1:]} == {image_key(astronaut), image_key(coffee)}

def test_facecrop_output_is_square_and_clamped(tmp_path):
    img = Image.new('RGB', (120, 80), 'white')
    for box, expected in [((100, 60, 20, 20), (88, 48, 120, 80)),   # bottom-right corner: shifted inside
                          ((-10, -5, 30, 30), (0, 0, 48, 48)),      # box partly outside the image
                          ((10, 10, 100, 70), (20, 0, 100, 80)),    # bigger than the short side: shrunk
                          ((50, 30, 10, 20), (39, 24, 71, 56))]:    # not square: longer side used
        tfm = FaceCrop(FixedDetector([(*box, 0.9)]), margin=0.3, cache_dir=False)
        got = tfm.crop_box(img)
        assert got == expected, (box, got)
        out = tfm(pil(img))
        assert out.size[0] == out.size[1] and out.size == (expected[2] - expected[0],) * 2
        x0, y0, x1, y1 = got
        assert 0 <= x0 < x1 <= 120 and 0 <= y0 < y1 <= 80

def test_facecrop_crops_a_plain_pil_image_from_a_file(tmp_path):
    "`FaceCrop()(PIL.Image.open(path))` crops like a fastai `PILImage` does, and keeps the plain type (issue 16)."
    Image.new('RGB', (120, 80), 'white').save(tmp_path/'x.png')
    tfm = FaceCrop(FixedDetector([(50, 30, 20, 20, 0.9)]), margin=0, cache_dir=False)
    with Image.open(tmp_path/'x.png') as img:
        out = tfm(img)
        assert out.size == (20, 20) and np.asarray(out).shape == (20, 20, 3)
        assert isinstance(out, Image.Image) and type(out).__name__ != 'PILImage'
    assert type(tfm(pil(Image.new('RGB', (120, 80))))).__name__ == 'PILImage'


def test_facecrop_picks_largest_or_most_confident():
    img = Image.new('RGB', (200, 200))
    faces = [(10, 10, 20, 20, 0.99), (100, 100, 60, 60, 0.6)]
    assert FaceCrop(FixedDetector(faces), margin=0, cache_dir=False).crop_box(img) == (100, 100, 160, 160)
    tfm = FaceCrop(FixedDetector(faces), margin=0, pick='score', cache_dir=False)
    assert tfm.crop_box(img) == (10, 10, 30, 30)
    assert tfm.stats['multi_face'] == 1

def test_detector_error_is_recorded_not_raised():
    class Broken(FixedDetector):
        def detect(self, arr): raise RuntimeError('boom')
    tfm = FaceCrop(Broken([]), cache_dir=False)
    img = Image.new('RGB', (50, 40))
    out, msgs = caught_roi_warnings(lambda: tfm(pil(img)))
    assert out.size == (50, 40) and tfm.records == {image_key(img): 'failed'}
    assert any('boom' in m for m in msgs), msgs
    tfm(pil(img))
    assert tfm.detector.n_calls == 1  # not retried for the same image

def test_paste_map_places_map_in_original_coordinates():
    hm = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = paste_map(hm, (30, 10, 70, 50), (100, 60), fill=-1)
    assert out.shape == (60, 100) and out.dtype == np.float32
    assert (out[:10] == -1).all() and (out[50:] == -1).all() and (out[:, :30] == -1).all() and (out[:, 70:] == -1).all()
    inside = out[10:50, 30:70]
    assert inside.min() >= 0 and inside.max() <= 15
    assert inside[:5, :5].mean() < inside[-5:, -5:].mean()   # orientation kept: top-left low, bottom-right high
    assert inside[0, 0] == 0 and inside[-1, -1] == 15
    with pytest.raises(ValueError, match='not inside'): paste_map(hm, (0, 0, 101, 60), (100, 60))

def test_settings_round_trip_through_detector_config(face_model, astronaut, tmp_path):
    tfm = FaceCrop('mediapipe', margin=0.2, fallback='center', cache_dir=False)
    s = tfm.settings()
    assert s['backend'] == 'mediapipe' and s['model'] == face_model.name and s['margin'] == 0.2
    assert not any(str(tmp_path) in str(v) or '/' in str(v) for v in s.values())  # no local paths
    cfg = DetectorConfig.from_json(DetectorConfig(roi=s).to_json(tmp_path/'config.json'))
    back = FaceCrop.from_settings(cfg.roi, cache_dir=False)
    assert back.settings() == s
    assert back.crop_box(astronaut) == tfm.crop_box(astronaut)

def test_facecrop_pickles_without_native_runtime(face_model, astronaut):
    tfm = FaceCrop('mediapipe', cache_dir=False)
    box = tfm.crop_box(astronaut)
    back = pickle.loads(pickle.dumps(tfm))
    assert back.crop_box(astronaut) == box
    assert back.detector(astronaut)[0][:4] == tfm.detector(astronaut)[0][:4]

def test_precompute_reports_everything_and_fills_cache(face_model, astronaut, coffee, tmp_path, capsys):
    astronaut.save(tmp_path/'a.png'); coffee.save(tmp_path/'c.jpg')
    (tmp_path/'bad.jpg').write_bytes(b'\xff\xd8 truncated')
    files = [tmp_path/'a.png', tmp_path/'c.jpg', tmp_path/'bad.jpg', tmp_path/'gone.png']
    res = precompute_boxes(files, n_workers=2, progress=False, backend='mediapipe', cache_dir=tmp_path/'roi')
    assert (res.images, res.detected, res.cached, res.faces_found, res.multi_face, res.no_face) == (4, 2, 0, 1, 0, 1)
    assert sorted(Path(p).name for p, _ in res.failures) == ['bad.jpg', 'gone.png']
    printed = capsys.readouterr().out
    assert 'bad.jpg' in printed and 'gone.png' in printed and 'face found 1' in printed
    again = precompute_boxes(files, n_workers=1, progress=False, verbose=False, backend='mediapipe', cache_dir=tmp_path/'roi')
    assert (again.cached, again.detected) == (2, 0)
    later = FaceCrop('mediapipe', cache_dir=tmp_path/'roi')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FaceCropWarning)
        later(PILImage.create(tmp_path/'a.png')); later(PILImage.create(tmp_path/'c.jpg'))
    assert later.detector.n_calls == 0


def test_later_epochs_skip_the_content_hash_for_opened_files(tmp_path, monkeypatch):
    "Images from open_image carry their source file, so FaceCrop hashes each file once; other images are hashed each time."
    import artifact_fastai.roi as roi
    from artifact_fastai.data import open_image
    path = tmp_path/'face.png'; Image.new('RGB', (64, 48), 'white').save(path)
    tfm = FaceCrop(FixedDetector([(10, 10, 20, 20, 0.9)]), margin=0, cache_dir=False)
    calls = []
    real_key = roi.image_key
    monkeypatch.setattr(roi, 'image_key', lambda img: calls.append(1) or real_key(img))
    boxes = [tfm.crop_box(open_image(path)) for _ in range(3)]
    assert boxes == [(10, 10, 30, 30)] * 3 and len(calls) == 1 and tfm.detector.n_calls == 1
    plain = Image.open(path).convert('RGB')  # no source file recorded: hashed every time
    tfm.crop_box(plain); tfm.crop_box(plain)
    assert len(calls) == 3
    flipped = open_image(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # derived images do not inherit the source
    tfm.crop_box(flipped)
    assert len(calls) == 4
    mtime = path.stat().st_mtime_ns
    Image.new('RGB', (64, 48), 'black').save(path)  # rewritten file: new content, new key
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a clock tick apart, as real edits are
    tfm.crop_box(open_image(path))
    assert len(calls) == 5
