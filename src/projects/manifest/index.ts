/** The project manifest (`computalot.project.json`): schema, parsing, reference checks. */
export { manifestSchema, unknownManifestKeys, MANIFEST_SANDBOXES, type ProjectManifest } from './manifest-schema.js';
export { parseManifest, formatManifestPath, MANIFEST_FILE, MAX_MANIFEST_BYTES, type ParsedManifest } from './parse-manifest.js';
export { checkManifestReferences, dockerfilePathOf, type TarballIndex } from './manifest-references.js';
