"""core/recording/schedule.py and gui/recording/flags.py: recorded frames spaced evenly in training steps, and the
window's recording flags (checked before a window opens, one line per bad value)."""

import argparse

import pytest

from core.recording import recorder as recording
from core.recording.schedule import StepSchedule, clip_seconds, describe, plan_steps_per_frame
from gui.recording.flags import RecordOptions, add_record_arguments, check_record_options, record_options


def test_a_20k_step_run_becomes_a_10_s_clip_at_15_fps():
    spf = plan_steps_per_frame(20_000, 10, 15)
    assert spf == 133
    assert clip_seconds(20_000, spf, 15) == pytest.approx(10.0, abs=0.1)
    assert StepSchedule(spf).frames_for(20_000) == 151
    assert plan_steps_per_frame(50, 10, 15) == 1  # never below one step
    with pytest.raises(ValueError):
        plan_steps_per_frame(0)


def test_frames_fall_every_n_steps_from_the_first_state_offered():
    s = StepSchedule(100)
    assert s.next_step is None
    got = {step: s.frames_due(step) for step in [40, 90, 139, 140, 199, 240, 241, 345]}
    assert got == {40: 1, 90: 0, 139: 0, 140: 1, 199: 0, 240: 1, 241: 0, 345: 1}
    assert s.next_step == 440 and s.recorded == 4


def test_states_drawn_further_apart_than_the_spacing_stand_for_every_frame_time_they_passed():
    s = StepSchedule(100, start=0)
    assert [s.frames_due(t) for t in [0, 350, 360, 1000]] == [1, 3, 0, 7]
    assert s.recorded == 11 == s.frames_for(1000)  # the clip's length still follows the steps


def test_a_spacing_below_one_step_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        StepSchedule(0)


def test_describe_says_how_fast_steps_pass_in_the_clip():
    assert describe(133, 15) == "1 frame every 133 steps; at 15 fps the clip shows 1,995 steps a second " \
                                "(0.501 s of clip per 1,000 steps)"


# -- the command-line flags ---------------------------------------------------------------------------------
def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--quit-after-steps", type=int)
    add_record_arguments(p)
    return p.parse_args(argv)


def test_no_record_flag_means_no_recording():
    assert check_record_options(parse([])) is None


def test_the_flags_give_the_options_and_the_spacing_follows_the_run(tmp_path):
    out = str(tmp_path / "run.gif")
    assert check_record_options(parse(["--record", out])) == RecordOptions(out, "window", 15.0, 100)
    got = check_record_options(parse(["--record", out, "--quit-after-steps", "20000", "--record-view", "loss"]))
    assert got == RecordOptions(out, "loss", 15.0, 133)
    got = check_record_options(parse(["--record", out, "--record-fps", "10", "--record-steps-per-frame", "7"]))
    assert got == RecordOptions(out, "window", 10.0, 7)


@pytest.mark.parametrize("argv, message", [
    (["--record-view", "loss"], "--record-view: needs --record FILE"),
    (["--record", "{d}/run.avi"], "--record: cannot record to {d}/run.avi: the file name must end in one of"),
    (["--record", "{d}/nope/run.gif"], "--record: cannot record to {d}/nope/run.gif: the folder {d}/nope does not"),
    (["--record", "{d}/run.gif", "--record-fps", "60"], "--record-fps: must be between 1 and 50 for this file"),
    (["--record", "{d}/run.webp", "--record-fps", "0.5"], "--record-fps: must be between 1 and 60"),
    (["--record", "{d}/run.gif", "--record-steps-per-frame", "0"],
     "--record-steps-per-frame: must be from 1 to 1,000,000,000 (got 0)"),
])
def test_a_bad_flag_gives_one_line_and_exit_code_2(tmp_path, capsys, argv, message):
    argv = [a.format(d=tmp_path) for a in argv]
    with pytest.raises(ValueError) as e:
        check_record_options(parse(argv))
    assert str(e.value).startswith(message.format(d=tmp_path))
    with pytest.raises(SystemExit) as ex:
        record_options(parse(argv))
    assert ex.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(d=tmp_path)) and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_mp4_without_pyav_is_refused_at_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "pyav_available", lambda: False)
    with pytest.raises(ValueError, match=r"--record: .*MP4 needs PyAV"):
        check_record_options(parse(["--record", str(tmp_path / "run.mp4")]))
