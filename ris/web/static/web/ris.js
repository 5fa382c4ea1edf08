// The web UI's only script: the day board kept current, and a confirmation
// before destructive buttons. No framework; everything works without it but
// the live board.
"use strict";

function confirmBeforeSubmit() {
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
}

// The board's fragment is fetched every few seconds with the version shown; the
// server answers 204 while nothing changed, else the new fragment.
function keepBoardCurrent() {
  const board = document.getElementById("board");
  if (!board) {
    return;
  }
  scrollToNextUp(board);
  const live = document.getElementById("board-live");
  const everyMs = Math.max(0.5, Number(board.dataset.refresh || 5)) * 1000;
  const url = window.location.pathname + window.location.search;

  async function refresh() {
    if (document.hidden) {
      // A board in a background tab asks nothing; it catches up when shown.
      document.addEventListener("visibilitychange", refresh, { once: true });
      return;
    }
    try {
      const response = await fetch(url, {
        headers: { "X-Board-Version": board.dataset.version },
        cache: "no-store",
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.status === 403) {
        window.location.reload(); // logged out meanwhile: show the login page
        return;
      }
      if (response.status === 200) {
        swap(board, await response.text(), response.headers.get("X-Board-Version"));
        live.textContent = "Updated " + new Date().toLocaleTimeString();
      }
      if (response.ok) {
        live.classList.remove("error");
      } else {
        live.textContent = "The server could not answer; retrying";
        live.classList.add("error");
      }
    } catch (error) {
      live.textContent = "Not connected; retrying";
      live.classList.add("error");
    }
    window.setTimeout(refresh, everyMs);
  }
  window.setTimeout(refresh, everyMs);
}

// Each column opens scrolled to its first step not yet done with: on today's
// board, what is happening now.
function scrollToNextUp(board) {
  board.querySelectorAll(".steps").forEach((column) => {
    const next = column.querySelector("[data-next-up]");
    if (next) {
      column.scrollTop = next.offsetTop - column.offsetTop - 8;
    }
  });
}

// Swap the fragment in, keeping each column's scroll position, and keyboard
// focus on the same control of the same step (or on the step itself, when the
// control is gone: a step that started offers no Cancel).
function swap(board, html, version) {
  const focused = document.activeElement;
  const focusKey = focused && board.contains(focused) ? focused.dataset.focusKey : null;
  const scrolled = new Map(
    Array.from(board.querySelectorAll(".steps")).map((column) => [column.getAttribute("aria-label"), column.scrollTop])
  );
  board.innerHTML = html;
  board.dataset.version = version;
  board.querySelectorAll(".steps").forEach((column) => {
    column.scrollTop = scrolled.get(column.getAttribute("aria-label")) || 0;
  });
  if (focusKey) {
    const step = "step-" + focusKey.split("-").pop();
    const again =
      board.querySelector(`[data-focus-key="${focusKey}"]`) || board.querySelector(`[data-focus-key="${step}"]`);
    if (again) {
      again.focus({ preventScroll: true });
    }
  }
}

confirmBeforeSubmit();
keepBoardCurrent();
