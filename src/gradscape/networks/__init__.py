"""The network half of gradscape: datasets, models, training, loss landscapes and Hessian spectra."""
