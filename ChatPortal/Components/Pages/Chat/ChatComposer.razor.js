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

export function focus(textarea) {
    textarea?.focus();
}
