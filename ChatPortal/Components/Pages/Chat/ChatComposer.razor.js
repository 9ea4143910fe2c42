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
    new MutationObserver(grow).observe(textarea, { attributes: true });
    textarea.focus();
}
