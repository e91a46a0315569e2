"""Static files of the local FDSN event service (:mod:`catalogs.fdsnws_server`): its WADL."""
