"""dispr's napari plugin (npe2): a dock widget that predicts the 3D shapes of the cells
of an image and labels layer, and a reader of ``dispr predict``'s output folders."""
