/** Version of this build; release builds replace it (see Makefile `build`). */
export const VERSION = "v0.1.0-dev";
