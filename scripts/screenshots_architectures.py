"""Screenshots of a bidirectional word model for people: the page at 390, 768 and 1280 px, in
English and Korean.

    .venv-test/bin/python scripts/screenshots_architectures.py [--out /tmp/shots-arch]

Builds a PyTorch model, nn.Embedding(V, D) -> nn.LSTM(bidirectional=True, batch_first=True)
-> nn.Linear, trains it briefly to predict the next word of a small corpus, saves its
state_dict as .safetensors in PyTorch's naming (embedding.weight, weight_ih_l0,
weight_ih_l0_reverse, ..., head.weight, head.bias), starts the app on a free port with a
fresh data directory, uploads the file with its vocabulary (POST /api/models) and opens it.
If the upload is refused, it says why and uses a bidirectional model built by the request
(`text`, one-hot characters) instead.  Needs torch and safetensors (requirements-test.txt)
and Debian's chromium.  Writes PNGs only; nothing is compared.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live_server import ServerProcess  # noqa: E402

CORPUS = (
    "the cat sat on the mat . the dog sat on the rug . the cat saw the dog . "
    "a dog ran to the red ball . the cat ran to the mat . a bird sat on the red rug ."
)
TEXT = "the cat sat on the red mat . the dog ran to the ball"
WIDTHS = (390, 768, 1280)
LANGS = ("en", "ko")
TIMEOUT_MS = 60_000


def build_model(path: Path, seed: int = 0) -> list[str]:
    """Train the small bidirectional word model; save it to `path`; return its vocabulary."""
    import torch
    from safetensors.torch import save_file
    from torch import nn

    torch.manual_seed(seed)
    words = CORPUS.split() + TEXT.split()
    vocab = sorted(set(words))
    index = {w: k for k, w in enumerate(vocab)}
    ids = torch.tensor([index[w] for w in CORPUS.split()])

    class WordModel(nn.Module):
        def __init__(self, vocab_size: int, dim: int = 8, hidden: int = 8):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, dim)
            self.lstm = nn.LSTM(dim, hidden, num_layers=1, bidirectional=True, batch_first=True)
            self.head = nn.Linear(2 * hidden, vocab_size)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return self.head(out)

    model = WordModel(len(vocab))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    # A few passes over windows of the corpus: next-word prediction.  (The reverse direction
    # has read the next word already, so the model soon finds it: a bidirectional layer is for
    # tagging a whole sequence, not for predicting its continuation.)
    windows = torch.stack([ids[k : k + 9] for k in range(len(ids) - 9)])
    for _ in range(60):
        optimiser.zero_grad()
        logits = model(windows[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), windows[:, 1:].reshape(-1))
        loss.backward()
        optimiser.step()
    state = {name.removeprefix("lstm."): t.detach().contiguous() for name, t in model.state_dict().items()}
    save_file(state, str(path))
    return vocab


def upload(url: str, path: Path, vocab: list[str]) -> tuple[str | None, str]:
    """The saved model's id, or None and why the server refused it."""
    with path.open("rb") as f:
        response = httpx2.post(
            f"{url}/api/models",
            files={"file": (path.name, f, "application/octet-stream")},
            data={"vocab": json.dumps(vocab), "name": "bidirectional word model"},
            timeout=120,
        )
    if response.status_code in (200, 201):
        return response.json()["id"], ""
    return None, f"{response.status_code} {response.text[:400]}"


def shoot(url: str, query: str, out: Path, steps: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            for lang in LANGS:
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                # Forward, late in the walk: both directions have met, so the head's top k show.
                step = max(1, steps - 2)
                page.goto(f"{url}/{query}&t={step}&lang={lang}")
                page.wait_for_selector('body[data-state="ready"]', timeout=TIMEOUT_MS)
                page.wait_for_timeout(300)
                name = f"{width}-{lang}"
                written.append(out / f"{name}-page.png")
                page.screenshot(path=str(written[-1]), full_page=True)
                written.append(out / f"{name}-diagram-forward.png")
                page.locator(".diagram-panel").screenshot(path=str(written[-1]))
                # The cell view of the reverse direction, with the explanation that says so.
                page.get_by_test_id("cell-direction").select_option("reverse")
                page.wait_for_selector('[data-testid=cell-detail][data-direction="reverse"]', timeout=TIMEOUT_MS)
                page.wait_for_timeout(200)
                written.append(out / f"{name}-cell-reverse.png")
                page.locator(".cell-panel").screenshot(path=str(written[-1]))
                written.append(out / f"{name}-explain-reverse.png")
                page.locator("#explain").screenshot(path=str(written[-1]))
                # Backward: the gradients run the other way along each direction.
                page.get_by_test_id("mode-backward").click()
                page.wait_for_selector('[data-testid=diagram][data-mode="backward"]', timeout=TIMEOUT_MS)
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(300)
                written.append(out / f"{name}-diagram-backward.png")
                page.locator(".diagram-panel").screenshot(path=str(written[-1]))
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                print(f"{name}: overflow {overflow} px, console errors {errors or 'none'}")
                page.close()
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/shots-arch", help="folder for the PNGs (default /tmp/shots-arch)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "bidirectional_words.safetensors"
        vocab = build_model(weights)
        server = ServerProcess(str(Path(tmp) / "data"))
        try:
            model_id, why = upload(server.url, weights, vocab)
            if model_id:
                print(f"uploaded the bidirectional word model: {model_id} ({len(vocab)} words)")
                query = f"?model={model_id}&text={quote(TEXT)}"
                steps = len(TEXT.split()) - 1
            else:
                print(f"the upload was refused ({why}); using a request-built bidirectional model instead")
                text = "hello world, hello"
                query = f"?bi=true&hidden=8&layers=2&text={quote(text)}"
                steps = len(text) - 1
            for path in shoot(server.url, query, out, steps):
                print(path)
        finally:
            server.kill()


if __name__ == "__main__":
    main()
