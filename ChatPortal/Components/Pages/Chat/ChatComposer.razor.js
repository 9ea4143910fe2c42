// Plain Enter sends (handled in C#), so the browser must not also insert a newline. Shift+Enter keeps its newline.
// The textarea grows with its content up to a limit.
export function init(textarea) {
    if (!textarea || textarea.__cpComposer) {
        return;
    }

    textarea.__cpComposer = true;
    textarea.addEventListener('keydown', e => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
        }
    });
    const grow = () => {
        textarea.style.height = 'auto';
        textarea.style.height = Math.min(textarea.scrollHeight, 240) + 'px';
    };
    textarea.addEventListener('input', grow);

    // Blazor writes the value property (no input event) when it clears the box after sending: measure again then.
    // Not a MutationObserver on attributes: grow() writes the style attribute, so it would trigger itself forever
    // and freeze the tab as soon as any attribute of the textarea changed.
    const value = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value');
    Object.defineProperty(textarea, 'value', {
        configurable: true,
        get() {
            return value.get.call(this);
        },
        set(text) {
            value.set.call(this, text);
            grow();
        },
    });
}

// Called once the composer is enabled (the conversation loaded) and after each send or stop.
export function focus(textarea) {
    restoreDraft(textarea);
    textarea?.focus();
}

// A page that had to reload because its node died (ReconnectModal.razor.js) kept its unsent draft in the session:
// put it back, once, in the same conversation, unless something was typed already. The input event tells the server.
function restoreDraft(textarea) {
    const key = 'chatportal-draft:' + location.pathname;
    const draft = textarea ? sessionStorage.getItem(key) : null;
    if (draft === null) {
        return;
    }

    sessionStorage.removeItem(key);
    if (!textarea.value) {
        textarea.value = draft;
        textarea.dispatchEvent(new Event('input', { bubbles: true }));
    }
}
