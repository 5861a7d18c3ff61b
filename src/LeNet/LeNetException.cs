// Domain exceptions: every problem a user can cause (a bad file, a bad option, diverging training)
// surfaces as one of these with a message that names the problem; the CLI and web print only the message.
namespace LeNet;

/// <summary>Base for problems with user input that the tool reports as one clear message.</summary>
public class LeNetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An IDX data file is missing, truncated, or not what its header says.</summary>
public sealed class InvalidDataFileException(string message, Exception? inner = null) : LeNetException(message, inner);

/// <summary>A model or checkpoint file is truncated, corrupted, foreign, or from an unknown version.</summary>
public sealed class InvalidModelFileException(string message, Exception? inner = null) : LeNetException(message, inner);

/// <summary>An image file cannot be decoded, is too large, or holds no ink.</summary>
public class InvalidImageException(string message, Exception? inner = null) : LeNetException(message, inner);

/// <summary>An image that decodes but shows no digit (blank, or too little contrast).</summary>
public sealed class NoDigitException(string message) : InvalidImageException(message);

/// <summary>An image whose size is over the limit, refused from its header before decoding.</summary>
public sealed class ImageTooLargeException(string message) : InvalidImageException(message);

/// <summary>Training produced a loss that is not a finite number.</summary>
public sealed class TrainingDivergedException(string message, float suggestedLearningRate = float.NaN) : LeNetException(message)
{
    /// <summary>A learning rate to try instead (a tenth of the one that diverged).</summary>
    public float SuggestedLearningRate { get; } = suggestedLearningRate;
}

/// <summary>
/// A training option out of range. <see cref="Option"/> is the <c>TrainingOptions</c> property and
/// <see cref="Requirement"/> what it must be, so a front end can name the option its own way.
/// </summary>
public sealed class InvalidOptionException(string option, string requirement)
    : LeNetException($"{option} {requirement}.")
{
    public string Option { get; } = option;
    public string Requirement { get; } = requirement;
}
