// Focus moves for the model menu: the chosen model when it opens, arrow keys between models, focus back to the button.
const items = menu => [...(menu?.querySelectorAll('[role^=menuitem]') ?? [])];

export function focusChecked(menu) {
    const all = items(menu);
    (all.find(i => i.getAttribute('aria-checked') === 'true') ?? all[0])?.focus();
}

export function move(menu, key) {
    const all = items(menu);
    if (all.length === 0) {
        return;
    }

    const at = all.indexOf(document.activeElement);
    const next = key === 'Home' ? 0
        : key === 'End' ? all.length - 1
        : (at + (key === 'ArrowDown' ? 1 : -1) + all.length) % all.length;
    all[next].focus();
}

export function focus(element) {
    element?.focus();
}
