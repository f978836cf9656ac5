"""The Speech tab against the fake Workers AI server: what goes on the wire, stitching, errors, the UI wiring."""

import asyncio
import base64
import hashlib
import inspect
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile as sf

from components.core import audio as audio_files
from components.core import speech as speech_core
from components.tabs import speech
from components.core.backend import default_model
from components.workers_ai import SPEECH
from tests.conftest import ASSETS
from tests.fake_workers_ai import Fault
from tests.test_audio import tone_and_noise
from tests.test_subtitles import assert_valid_srt, assert_valid_vtt

WHISPER, TINY, TURBO = "@cf/openai/whisper", "@cf/openai/whisper-tiny-en", "@cf/openai/whisper-large-v3-turbo"
FOX = ASSETS / "speech-fox.wav"
FOX_TEXT = "The quick brown fox jumps over the lazy dog."


def transcribe(*args, **kwargs):
    return asyncio.run(speech.transcribe(*args, **kwargs))


def run_requests(fake, model):
    return [r for r in fake.requests if r.model == model]


def error_of(*args) -> str:
    with pytest.raises(gr.Error) as caught:
        transcribe(*args)
    return caught.value.message


@pytest.fixture
def fox(tmp_path, fake):
    """The example recording under a temp name, with the fake knowing what it says."""
    path = Path(shutil.copy(FOX, tmp_path / "speech-fox.wav"))
    fake.transcripts[hashlib.sha256(path.read_bytes()).hexdigest()] = FOX_TEXT
    return path


@pytest.mark.parametrize("model", [WHISPER, TINY])
def test_raw_models_get_the_file_bytes_as_they_are(client, fake, fox, model):
    """The example is a plain PCM WAV whose data chunk runs to the end of the file, the one kind of upload whose
    own bytes are sent: every decoder reads from it the samples that were measured and charged. Anything else
    goes out as the WAV decoded here (below, and tests/test_security_audio.py)."""
    text, vtt, srt, player = transcribe(str(fox), model)
    [request] = run_requests(fake, model)
    assert request.path.endswith(f"/ai/run/{model}")  # the chosen model reaches the path
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.body == fox.read_bytes()  # not re-encoded, not int-array JSON, not base64
    assert text == FOX_TEXT


def test_a_compressed_recording_is_sent_as_the_wav_decoded_from_it(client, fake, tmp_path):
    """A FLAC's (or Ogg's, or MP3's) header states its length, and the service's decoder need not stop there:
    what is sent is the 16 kHz WAV decoded and measured here, so the charge covers all that is sent."""
    path = tone_and_noise(tmp_path / "memo.wav", 6.0, rate=44_100)
    data, rate = sf.read(path)
    sf.write(tmp_path / "memo.flac", data, rate)
    [piece] = audio_files.chunks(tmp_path / "memo.flac", speech_core.max_audio_bytes(WHISPER))
    transcribe(str(tmp_path / "memo.flac"), WHISPER)
    [request] = run_requests(fake, WHISPER)
    assert request.body == piece.wav_bytes and piece.duration == pytest.approx(6.0, abs=1e-3)


def test_a_model_not_known_to_need_base64_gets_raw_bytes(client, fake, fox):
    model = "@cf/someone/new-whisper"
    assert "does not know the model @cf/someone/new-whisper" in error_of(str(fox), model)  # the fake has no such model
    [request] = run_requests(fake, model)
    assert request.headers["content-type"] == "application/octet-stream" and request.body == fox.read_bytes()


def test_subtitle_files_are_valid_named_after_the_upload_and_attached_to_playback(client, fake, fox):
    _, vtt, srt, player = transcribe(str(fox), WHISPER)
    assert (Path(vtt).name, Path(srt).name) == ("speech-fox.vtt", "speech-fox.srt")
    assert Path(vtt).parent == Path(srt).parent != fox.parent
    cues = assert_valid_vtt(Path(vtt).read_text())
    assert " ".join(" ".join(lines) for *_, lines in cues) == FOX_TEXT
    assert cues[-1][1] <= 3800  # the words' own timings, within the 3.8 s recording
    assert len(assert_valid_srt(Path(srt).read_text())) == len(cues)
    assert isinstance(player, gr.Audio) and player.subtitles is not None
    assert player.constructor_args["value"] == str(fox) and player.constructor_args["subtitles"] == vtt


@pytest.mark.parametrize(("language", "task"), [("de", "translate"), ("", "transcribe")])
def test_turbo_gets_base64_json_with_task_and_language(client, fake, fox, language, task):
    text, vtt, _, _ = transcribe(str(fox), TURBO, language, task)
    [request] = run_requests(fake, TURBO)
    assert request.headers["content-type"].startswith("application/json")
    assert base64.b64decode(request.json["audio"]) == fox.read_bytes()
    assert request.json["task"] == task
    assert request.json.get("language") == (language or None)  # empty: left out, the model detects it
    assert text == FOX_TEXT
    cues = assert_valid_vtt(Path(vtt).read_text())
    assert 0 < cues[0][0] and cues[-1][1] < 3800  # the segments' word timings (spread text would start at 0)


@pytest.mark.parametrize("model", [WHISPER, TURBO])
def test_a_long_recording_is_split_and_stitched(client, fake, tmp_path, monkeypatch, model):
    limit = 200_000
    monkeypatch.setattr(speech_core, "MAX_REQUEST_BYTES", limit)
    fake.max_body_bytes = limit  # the fake answers 413 to anything bigger
    path = tone_and_noise(tmp_path / "lecture.wav", 40.0, rate=16_000, channels=1, pause_every=1.5)
    pieces = audio_files.chunks(path, speech_core.max_audio_bytes(model))
    for number, piece in enumerate(pieces):
        fake.transcripts[hashlib.sha256(piece.wav_bytes).hexdigest()] = f"Part {number} ends here."

    text, vtt, srt, _ = transcribe(str(path), model)

    assert len(pieces) >= 4 and fake.count(model) == len(pieces)
    assert all(len(r.body) <= limit for r in run_requests(fake, model))
    assert text == " ".join(f"Part {n} ends here." for n in range(len(pieces)))  # in order despite parallel requests
    cues = assert_valid_vtt(Path(vtt).read_text())  # monotonic across pieces
    starts = [start for start, *_ in cues]
    assert [lines for *_, lines in cues] == [[f"Part {n} ends here."] for n in range(len(pieces))]
    for start, piece in zip(starts, pieces):  # each piece's timings shifted to where it starts
        assert piece.start_seconds * 1000 <= start < (piece.start_seconds + piece.duration) * 1000
    assert cues[-1][1] <= 40_000
    assert len(assert_valid_srt(Path(srt).read_text())) == len(cues)



def test_a_model_left_out_is_the_live_backends_default(client, fake, fox):
    """The default is chosen when the call is made, not while the module imports (API and MCP callers get it from
    the dropdown's value, which render sets)."""
    assert inspect.signature(speech.transcribe).parameters["model"].default == ""
    text, *_ = transcribe(str(fox))
    assert [r.model for r in fake.requests if r.model] == [default_model(SPEECH)] == [WHISPER]
    assert text == FOX_TEXT

def test_upstream_bad_input_becomes_one_clear_sentence(client, fake, fox):
    fake.fail(Fault.error(400, 5006, "AiError: Bad input: Error: the audio could not be decoded"), model=WHISPER)
    message = error_of(str(fox), WHISPER)
    assert message.startswith("Workers AI rejected the input: Bad input: Error: the audio could not be decoded (request id ")


@pytest.mark.parametrize("missing", [None, ""])
def test_no_audio_asks_for_some(client, fake, missing):
    assert error_of(missing).startswith("Record or upload some audio first")
    assert fake.count() == 0


def test_a_text_file_is_refused_before_any_request(client, fake, tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("meeting notes, not a recording\n")
    assert "This file is not audio" in error_of(str(notes))
    assert fake.count() == 0


def test_silence_says_no_speech_was_heard(client, fake, tmp_path):
    sf.write(tmp_path / "quiet.wav", np.zeros(32_000, np.float32), 16_000)
    assert error_of(str(tmp_path / "quiet.wav"), WHISPER) == "No speech was heard in this recording."


def test_bad_options_are_refused(client, fake, fox):
    assert "not a language code" in error_of(str(fox), TURBO, "English please")
    assert "'transcribe' or 'translate'" in error_of(str(fox), TURBO, "en", "summarise")
    assert fake.count() == 0


def test_a_long_container_is_decoded_and_split_like_any_recording(client, fake, tmp_path, monkeypatch):
    """MP4/M4A and WebM used to go out whole when small enough, their length guessed from their size; now PyAV
    (where installed) decodes them like any other recording, and a long one is split. Without PyAV they are
    refused (tests/test_security_audio.py)."""
    pytest.importorskip("av")
    from tests.test_security_audio import m4a

    limit = 200_000
    monkeypatch.setattr(speech_core, "MAX_REQUEST_BYTES", limit)
    clip = m4a(tmp_path / "memo.m4a", 20.0)
    transcribe(str(clip), WHISPER)
    bodies = [r.body for r in run_requests(fake, WHISPER)]
    assert len(bodies) >= 3 and all(len(body) <= limit and body[:4] == b"RIFF" for body in bodies)


def test_render_wires_the_tab():
    with gr.Blocks() as demo:
        with gr.Tab("Speech"):
            [(task, dropdown)] = speech.render()
    assert task == SPEECH and dropdown.value == default_model(SPEECH)
    click = next(fn for fn in demo.fns.values() if fn.api_name == "transcribe")
    assert [c.label for c in click.inputs] == ["Recording", "Model", "Language", "Task"]
    assert len(click.outputs) == 4 and click.concurrency_limit == speech.concurrency_limit()
    toggle = next(fn for fn in demo.fns.values() if fn.fn is speech._show_options)
    assert toggle.api_visibility == "private"
    assert speech._show_options(TURBO)[0]["visible"] is True and speech._show_options(WHISPER)[1]["visible"] is False
