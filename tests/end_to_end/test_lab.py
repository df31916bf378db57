"""`make lab` serves the whole course, so lesson 00 can send the student to rnnlib/losses.py."""

from tools.lab_server import get_json, running_lab


def test_make_lab_serves_the_course_root_and_opens_lesson_00(tmp_path):
    with running_lab(tmp_path) as lab:
        api = f"{lab.url}/api/contents"
        root = get_json(api)
        folders = {item["name"] for item in root["content"] if item["type"] == "directory"}
        assert {"notebooks", "rnnlib", "exercises"} <= folders, f"the server's root lists {sorted(folders)}"

        losses = get_json(f"{api}/rnnlib/losses.py")
        assert losses["type"] == "file" and "def softmax" in losses["content"]
        welcome = get_json(f"{api}/notebooks/00_welcome.ipynb")
        assert welcome["type"] == "notebook" and welcome["content"]["cells"]

        # What the browser is sent to: lesson 00, under the course root.
        pages = [page.read_text() for page in tmp_path.glob("jpserver-*open.html")]
        assert any(f"{lab.url}/lab/tree/notebooks/00_welcome.ipynb" in page for page in pages), pages
