// Keeps a scrolling thread pinned to its end while the reader is there; leaves it alone once they scroll up.
export function autoScroll(element) {
    if (!element || element.__cpAutoScroll) {
        return;
    }

    let pinned = true;
    element.addEventListener('scroll', () => {
        pinned = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
    }, { passive: true });

    const observer = new MutationObserver(() => {
        if (pinned) {
            element.scrollTop = element.scrollHeight;
        }
    });
    observer.observe(element, { childList: true, subtree: true, characterData: true });
    element.__cpAutoScroll = observer;
    element.scrollTop = element.scrollHeight;
}
