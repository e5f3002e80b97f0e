/** The sign-in (and sign-out) window's landing page: hands the provider's answer to the workspace tab, then closes. */
import { CALLBACK_CHANNEL } from './session.ts';

const search = location.search;
// The code leaves the address bar and the history at once.
history.replaceState(null, '', location.pathname);
const channel = new BroadcastChannel(CALLBACK_CHANNEL);
channel.postMessage({ search });
channel.close();
window.close();
