"""Saving never loses or corrupts a file: unique temp names, write protection, symlinks."""

from __future__ import annotations

import os
import stat

import pytest

from greenlove._files import write_text_atomic


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_failed_write_leaves_no_temp_file_and_the_old_file_whole(tmp_path):
    target = tmp_path / "greenlove.json"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "half \ud800 written")
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_a_users_own_tmp_file_is_never_touched(tmp_path):
    mine = tmp_path / "mine.json.tmp"
    mine.write_text("my notes")
    write_text_atomic(tmp_path / "mine.json", "{}")
    assert mine.read_text() == "my notes"
    assert (tmp_path / "mine.json").read_text() == "{}"
    assert leftovers(tmp_path) == ["mine.json.tmp"]


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else False,
                    reason="root writes through any permission")
def test_a_write_protected_file_is_refused_and_left_as_it_was(tmp_path):
    target = tmp_path / "ro.json"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="write-protected"):
        write_text_atomic(target, "new")
    assert target.read_text() == "keep" and stat.S_IMODE(target.stat().st_mode) == 0o444


def test_write_protection_is_checked_even_for_root(tmp_path, monkeypatch):
    target = tmp_path / "ro.json"
    target.write_text("keep")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match="write-protected"):
        write_text_atomic(target, "new")
    assert target.read_text() == "keep" and leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "shared.json"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask_s_permissions_not_the_temp_file_s(tmp_path):
    write_text_atomic(tmp_path / "new.json", "{}")
    mode = stat.S_IMODE((tmp_path / "new.json").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_a_symlink_stays_a_symlink_and_its_target_is_written(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_folder_in_the_way_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "isdir.json").mkdir()
    with pytest.raises(IsADirectoryError):
        write_text_atomic(tmp_path / "isdir.json", "x" * 258_000)
    assert leftovers(tmp_path) == []


def test_two_saves_to_one_path_use_two_temp_files(tmp_path, monkeypatch):
    import tempfile

    names = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        names.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    write_text_atomic(tmp_path / "a.json", "1")
    write_text_atomic(tmp_path / "a.json", "2")
    assert len(set(names)) == 2 and (tmp_path / "a.json").read_text() == "2"
