/**
 * The Equinix Metal provider. Importing this module registers it as `equinixmetal`.
 *
 * @module
 */
