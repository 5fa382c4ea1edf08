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
      live.classList.remove("error");
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

// Swap the fragment in, keeping each column's scroll position and keyboard
// focus on the element it was on.
function swap(board, html, version) {
  const focused = document.activeElement;
  const focusedLabel = focused && board.contains(focused) ? focused.getAttribute("aria-label") : null;
  const scrolled = new Map(
    Array.from(board.querySelectorAll(".steps")).map((column) => [column.getAttribute("aria-label"), column.scrollTop])
  );
  board.innerHTML = html;
  board.dataset.version = version;
  board.querySelectorAll(".steps").forEach((column) => {
    column.scrollTop = scrolled.get(column.getAttribute("aria-label")) || 0;
  });
  if (focusedLabel) {
    const again = Array.from(board.querySelectorAll("[aria-label]")).find(
      (element) => element.getAttribute("aria-label") === focusedLabel
    );
    if (again) {
      again.focus();
    }
  }
}

confirmBeforeSubmit();
keepBoardCurrent();
