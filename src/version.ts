/** The running version, shown in the User-Agent and `latchkey --version`. */
export const VERSION = '0.1.0';
