// The `lenet` command: parses options and dispatches to the library. Problems caused by input
// (files, options, diverging training) print one line naming the problem and exit non-zero.
using System.CommandLine;
using LeNet.Cli.Commands;

var root = new RootCommand("LeNet.NET: train, evaluate and run LeNet-5 on MNIST and on your own digit images.")
{
    TrainCommand.Create(),
    EvalCommand.Create(),
    PredictCommand.Create(),
    SummaryCommand.Create(),
    ExportCommand.Create(),
    EnsembleCommand.Create(),
    ReportCommand.Create(),
    ServeCommand.Create(),
    SelfCheckCommand.Create(),
};
return LeNet.Cli.Cli.Run(root, args);
