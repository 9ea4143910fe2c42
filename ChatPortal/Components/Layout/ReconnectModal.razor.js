// The reconnect dialog and the move to another node.
//
// Blazor reports the state of the page's live connection on the dialog (components-reconnect-state-changed): the
// dialog opens, and data-state says which title, text and buttons show (ReconnectModal.razor.css):
//   reconnecting  the connection dropped; Blazor retries by itself (the same circuit, if its node still has it)
//   moving        the node serving the page is stopping and asked it to move (chatPortal.moveToAnotherNode)
//   rejected      the page's node is gone and so is its circuit: reload the same URL (the same conversation; an
//                 answer still running elsewhere is followed again), keeping the unsent draft
//   paused        paused by someone else's call to Blazor.pauseCircuit(): Resume
//   failed        no server reachable after every retry: Try again, Reload
const modal = document.getElementById("components-reconnect-modal");
const seconds = document.getElementById("components-seconds-to-next-attempt");
let moving = false;

modal.addEventListener("components-reconnect-state-changed", event => onStateChanged(event.detail));
modal.addEventListener("cancel", event => event.preventDefault()); // Esc does not hide a page that is not live
document.getElementById("components-reconnect-button").addEventListener("click", retry);
document.getElementById("components-resume-button").addEventListener("click", resume);
document.getElementById("cp-reconnect-reload").addEventListener("click", reload);

(window.chatPortal ??= {}).moveToAnotherNode = () => {
    // Called by the node through JS interop while it stops (CircuitHandoff): answer at once, move afterwards.
    if (!moving) {
        moving = true; // before the pause starts: Blazor reports its states synchronously
        moveToAnotherNode().finally(() => moving = false);
    }
};

function onStateChanged(detail) {
    switch (detail.state) {
        case "show":
            show(moving ? "moving" : "reconnecting");
            break;
        case "retrying":
            show("reconnecting");
            modal.toggleAttribute("data-countdown", detail.secondsToNextAttempt > 0);
            break;
        case "paused":
            show(moving ? "moving" : "paused");
            break;
        case "hide":
            hide();
            break;
        case "failed":
            show("failed");
            document.addEventListener("visibilitychange", retryWhenVisible);
            break;
        case "resume-failed":
            if (!moving) {
                show("failed");
            }
            break;
        case "rejected":
            // Reached a server, which does not know this page's circuit (its node died): a fresh page, same URL.
            show("rejected");
            reload();
            break;
    }
}

function show(state) {
    modal.dataset.state = state;
    if (!modal.open) {
        modal.showModal();
    }
}

function hide() {
    delete modal.dataset.state;
    modal.removeAttribute("data-countdown");
    if (modal.open) {
        modal.close();
    }
}

// Pause the circuit (Blazor sends the page's persisted state to the browser, or keeps it in the cluster's cache),
// then resume it: the balancer sends the new connection to another node, since the stopping one refuses it. No
// reload: the page, its scroll position and the draft stay. If no node takes it, the failed state offers Try again.
async function moveToAnotherNode() {
    show("moving");
    try {
        await Blazor.pauseCircuit();
    } catch {
        // Already disconnected: the resume below still finds the state the server kept.
    }

    forgetPausedCircuit();
    for (const wait of [0, 250, 500, 1000, 2000, 4000]) {
        await delay(wait);
        try {
            if (await Blazor.resumeCircuit()) {
                hide();
                return;
            }
        } catch {
            // No node answered yet: try again.
        }
    }

    show("failed");
}

async function retry() {
    document.removeEventListener("visibilitychange", retryWhenVisible);
    show("reconnecting");
    try {
        // true: back on the same circuit; false: a server answered but has no such circuit, so resume it from its
        // persisted state, or else reload; an exception: no server reachable yet.
        if (await Blazor.reconnect() || (forgetPausedCircuit(), await Blazor.resumeCircuit())) {
            hide();
        } else {
            reload();
        }
    } catch {
        show("failed");
        document.addEventListener("visibilitychange", retryWhenVisible);
    }
}

async function resume() {
    try {
        forgetPausedCircuit();
        if (await Blazor.resumeCircuit()) {
            hide();
        } else {
            reload();
        }
    } catch {
        show("failed");
    }
}

async function retryWhenVisible() {
    if (document.visibilityState === "visible") {
        await retry();
    }
}

// The unsent draft survives the reload (ChatComposer.razor.js puts it back, once, in the same conversation).
function reload() {
    const input = document.querySelector("[data-testid=composer-input]");
    if (input && input.value.trim()) {
        sessionStorage.setItem("chatportal-draft:" + location.pathname, input.value);
    }

    location.reload();
}

// A resumed circuit starts its components afresh in the same document. What the old circuit's components would have
// cleaned up in the browser when they were disposed (they could not reach it: the circuit ended disconnected) is
// cleaned up here: MudBlazor's popover service, which a new MudPopoverProvider initialises again.
function forgetPausedCircuit() {
    window.mudPopover?.dispose?.();
}

function delay(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
}
